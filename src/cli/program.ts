/** The `chartchain` command tree. */
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { registerBackupCommands } from './backup-commands.js';
import { registerChainCommands } from './chain-commands.js';
import { registerNodeCommands } from './node-commands.js';
import { registerNetworkCommands } from './network-commands.js';
import { registerLocalNetworkCommands } from './network/local-network-commands.js';
import { registerImport } from './import.js';
import { registerLogin } from './login.js';
import { registerClientCommands } from './client-commands.js';
import { registerOrgToken } from './org-client.js';
import { registerTlsCommands } from './tls-commands.js';
import { registerUserCommands } from './user-commands.js';
import { registerVerifyResource } from './verify-resource.js';

/** Builds the commander program with every subcommand. */
export function buildProgram(): Command {
  const program = new Command()
    .name('chartchain')
    .description('ChartChain: a permissioned ledger for electronic health records')
    .version(packageVersion(), '-V, --version', 'print the chartchain version')
    .showHelpAfterError();
  registerNodeCommands(program);
  registerNetworkCommands(program);
  registerLocalNetworkCommands(program);
  registerChainCommands(program);
  registerVerifyResource(program);
  registerLogin(program);
  registerOrgToken(program);
  registerImport(program);
  registerBackupCommands(program);
  registerTlsCommands(program);
  registerUserCommands(program);
  registerClientCommands(program);
  return program;
}

/** The version in the package's own package.json, two folders above this file. */
function packageVersion(): string {
  const manifest = JSON.parse(
    readFileSync(new URL('../../package.json', import.meta.url), 'utf8'),
  ) as { version: string };
  return manifest.version;
}
