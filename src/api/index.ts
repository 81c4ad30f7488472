/** Public API of src/api: the HTTP server. */
export { buildServer, HTTP_BODY_BYTES_MAX } from './server.js';
export { ApiError } from './api-error.js';
