/** Bounds on what the HTTP server reads. */

/** Largest request body the server reads at all (a Synthea transaction Bundle reaches 3 MB); routes may set lower limits. */
export const HTTP_BODY_BYTES_MAX = 16 * 1024 * 1024;
