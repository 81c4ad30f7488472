/**
 * `chartchain clients add|list|remove`: the backend clients (SMART Backend Services) of the node
 * in `--data`, e.g. a lab system or a Bulk export job. They take effect at once, also while
 * the node runs. Only the client's public keys are given and kept.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import type { JSONWebKeySet } from 'jose';
import {
  CLIENTS_FILE,
  FileClientRegistry,
  type ClientFileHealth,
  InMemoryClientRegistry,
  type StoredClient,
} from '../api/index.js';
import { readNodeConfig } from '../node/index.js';
import { restrictUmask } from '../storage/index.js';
import { DEMO_CLIENT_ID, WEB_APP_CLIENT_ID } from './demo-clients.js';
import { ORG_CLIENT_ID } from './org-client.js';

const DEFAULT_DATA = './data';
/** What a client is granted when `--scope` is not given: read and search every type. */
const DEFAULT_SCOPE = 'system/*.rs';
/** The ids `start` registers itself, which the file may not take. */
const RESERVED_CLIENT_IDS: readonly string[] = [ORG_CLIENT_ID, DEMO_CLIENT_ID, WEB_APP_CLIENT_ID];

/** The registry `start` serves for the node in `dataDir`: the clients in its file, behind the node's own (`fixed`). */
export function clientRegistry(
  dataDir: string,
  org: string,
  fixed: InMemoryClientRegistry,
  health?: ClientFileHealth,
): FileClientRegistry {
  return new FileClientRegistry(join(dataDir, CLIENTS_FILE), org, fixed, health);
}

/** Registers `clients` and its subcommands on `program`. */
export function registerClientCommands(program: Command): void {
  const clients = program
    .command('clients')
    .description('the backend clients (SMART Backend Services, private_key_jwt) this node accepts');
  withData(clients.command('add <clientId>'))
    .description('register a client by its public JWK set; it then gets tokens at /auth/token')
    .requiredOption('--jwks <file>', 'a JSON file holding the public JWK set ({"keys": [...]})')
    .option('--scope <scopes>', 'the most it may be granted: system/ scopes', DEFAULT_SCOPE)
    .action(async (clientId: string, flags: { data: string; jwks: string; scope: string }) => {
      if (RESERVED_CLIENT_IDS.includes(clientId))
        throw new Error(`client_id ${clientId} is the node's own; choose another`);
      const added = await open(flags.data).add({
        clientId,
        jwks: JSON.parse(readFileSync(flags.jwks, 'utf8')) as JSONWebKeySet,
        scope: flags.scope,
      });
      print([`added ${clientId} (${added.scope})`]);
    });
  withData(clients.command('list'))
    .description('list the registered clients: id, scopes, keys, when added')
    .action((flags: { data: string }) => print(open(flags.data).list().map(clientLine)));
  withData(clients.command('remove <clientId>'))
    .description(
      'remove a client: it gets no new tokens (one already issued lives out its lifetime)',
    )
    .action((clientId: string, flags: { data: string }) => {
      if (!open(flags.data).remove(clientId)) throw new Error(`no client named ${clientId}`);
      print([`removed ${clientId}`]);
    });
}

/** The client file of the node in `dataDir`. */
function open(dataDir: string): FileClientRegistry {
  const dir = resolve(dataDir);
  const config = readNodeConfig(dir);
  if (config === undefined) throw new Error(`${dir} holds no node: run chartchain init first`);
  restrictUmask();
  return clientRegistry(dir, config.orgId, new InMemoryClientRegistry());
}

function clientLine(client: StoredClient): string {
  const keys = client.jwks.keys.map((key) => key.kid ?? key.kty).join(',');
  return [client.clientId, client.scope, keys, client.addedAt].join('\t');
}

function print(lines: readonly string[]): void {
  if (lines.length > 0) process.stdout.write(lines.join('\n') + '\n');
}

function withData(command: Command): Command {
  return command.option('--data <dir>', 'data directory', DEFAULT_DATA);
}
