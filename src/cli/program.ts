/** The `chartchain` command tree. */
import { Command } from 'commander';
import { registerChainCommands } from './chain-commands.js';
import { registerNodeCommands } from './node-commands.js';
import { registerImport } from './import.js';
import { registerLogin } from './login.js';
import { registerOrgToken } from './org-client.js';
import { registerVerifyResource } from './verify-resource.js';

/** Builds the commander program with every subcommand. */
export function buildProgram(): Command {
  const program = new Command()
    .name('chartchain')
    .description('ChartChain: a permissioned ledger for electronic health records')
    .showHelpAfterError();
  registerNodeCommands(program);
  registerChainCommands(program);
  registerVerifyResource(program);
  registerLogin(program);
  registerOrgToken(program);
  registerImport(program);
  return program;
}
