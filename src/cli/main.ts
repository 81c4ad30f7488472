/** Entry point of the `chartchain` command. */
import { buildProgram } from './index.js';

buildProgram()
  .parseAsync(process.argv)
  .catch((error: unknown) => {
    process.stderr.write(`chartchain: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  });
