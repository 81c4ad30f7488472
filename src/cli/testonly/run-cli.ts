/** Test support: runs the command line in this process. */
import { buildProgram } from '../program.js';

/** Runs `chartchain ...args` in this process; resolves with what it printed. */
export async function chartchain(...args: string[]): Promise<string> {
  let printed = '';
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array) => {
    printed += String(chunk);
    return true;
  }) as typeof process.stdout.write;
  try {
    await buildProgram()
      .exitOverride()
      .parseAsync(['node', 'chartchain', ...args]);
  } finally {
    process.stdout.write = write;
  }
  return printed;
}
