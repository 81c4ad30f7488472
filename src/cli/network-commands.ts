/** `chartchain identity export` and `chartchain genesis`: founding a network whose organisations each hold only their own keys. */
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import {
  buildGenesis,
  identityOf,
  loadOrgKeys,
  readNodeConfig,
  type OrgIdentity,
} from '../node/index.js';
import { consentModelFlag } from './consent-model-flag.js';

function exportIdentity(flags: { data: string; endpoint?: string }): void {
  const dataDir = resolve(flags.data);
  const config = readNodeConfig(dataDir);
  if (config === undefined)
    throw new Error(`${flags.data} holds no node: run chartchain init --join first`);
  process.stdout.write(
    JSON.stringify(identityOf(config, loadOrgKeys(dataDir), flags.endpoint), null, 2) + '\n',
  );
}

function writeGenesis(flags: {
  network: string;
  org: string[];
  out: string;
  time?: string;
  consentModel?: string;
}): void {
  const identities = flags.org.map(
    (path) => JSON.parse(readFileSync(resolve(path), 'utf8')) as OrgIdentity,
  );
  const time = flags.time === undefined ? Date.now() : Number(flags.time);
  if (!Number.isSafeInteger(time) || time < 0)
    throw new RangeError('--time must be milliseconds since the Unix epoch');
  const consentModel = consentModelFlag(flags.consentModel);
  const genesis = buildGenesis(flags.network, identities, time, consentModel);
  writeFileSync(resolve(flags.out), JSON.stringify(genesis, null, 2) + '\n', { flag: 'wx' });
  const founders = identities
    .map((identity) => identity.orgId)
    .sort()
    .join(', ');
  process.stdout.write(
    `genesis of network "${flags.network}" (consent model ${consentModel}) founded by ${founders} written to ${flags.out}\ngenesis hash ${genesis.genesisHash}\n`,
  );
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

/** Registers identity and genesis on `program`. */
export function registerNetworkCommands(program: Command): void {
  const identity = program
    .command('identity')
    .description("this organisation's public identity, for founding a network");
  identity
    .command('export')
    .description(
      'print orgId, name, public signing and encryption keys and the peer endpoint as JSON (never private keys)',
    )
    .option('--data <dir>', 'data directory', './data')
    .option(
      '--endpoint <url>',
      'base URL where this node answers peer requests, e.g. https://node.example.org:8080',
    )
    .action(exportIdentity);

  program
    .command('genesis')
    .description(
      "build the genesis file of a network from its founders' exported identities; prints the hash every operator pins",
    )
    .requiredOption('--network <name>', 'network name')
    .requiredOption('--org <file>', "a founder's identity (repeat for each)", collect, [])
    .requiredOption('--out <file>', 'genesis file to write (never overwritten)')
    .option('--time <ms>', 'block time of the genesis, ms since the Unix epoch (default: now)')
    .option(
      '--consent-model <model>',
      "opt-out (the patient's home organisation treats them without a grant unless they restrict it) or opt-in (every access needs a grant)",
      'opt-out',
    )
    .action(writeGenesis);
}
