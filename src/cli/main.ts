/** The `chartchain` command. */
import { Command } from 'commander';
import { registerChainCommands } from './chain-commands.js';
import { registerNodeCommands } from './node-commands.js';

const program = new Command()
  .name('chartchain')
  .description('ChartChain: a permissioned ledger for electronic health records')
  .showHelpAfterError();

registerNodeCommands(program);
registerChainCommands(program);

program.parseAsync(process.argv).catch((error: unknown) => {
  process.stderr.write(`chartchain: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
