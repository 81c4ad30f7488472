/** Public API of src/cli: the command tree (main.ts runs it). */
export { buildProgram } from './program.js';
