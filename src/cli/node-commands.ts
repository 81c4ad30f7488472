/** `chartchain init`, `start` and `keys`. */
import { existsSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { AuthServer, buildServer, createDemoUsers, DEMO_PASSWORD } from '../api/index.js';
import { demoClients, freePort } from './demo-clients.js';
import { hasDemo, seedDemo } from './demo-seed.js';
import { loadValidator } from '../fhir/index.js';
import { exportSeed, generateSigningKey, toHex } from '../crypto/index.js';
import { ChartChainNode, isInitialised, readNodeConfig, writeNodeConfig } from '../node/index.js';
import { loadOrgKeysPublic } from './org-keys-public.js';

const DEFAULT_DATA = './data';

interface InitFlags {
  data: string;
  orgId: string;
  orgName: string;
  network: string;
}

function init(flags: InitFlags): void {
  ChartChainNode.init(resolve(flags.data), { orgId: flags.orgId, orgName: flags.orgName, network: flags.network });
  const config = readNodeConfig(resolve(flags.data))!;
  process.stdout.write(`initialised ${config.orgId} (${config.orgName}) founding network "${config.network}" in ${flags.data}\n`);
}

interface OrdererFlags {
  orderer?: string;
  etcd?: string;
}

/**
 * `--orderer solo|etcd` and `--etcd URL[,URL…]` rewrite node.json's orderer choice, which later
 * starts keep. Throws RangeError on an unknown kind or an etcd orderer without endpoints.
 */
export function applyOrdererFlags(dataDir: string, flags: OrdererFlags): void {
  if (flags.orderer === undefined && flags.etcd === undefined) return;
  const kind = flags.orderer ?? 'etcd';
  if (kind !== 'solo' && kind !== 'etcd') throw new RangeError('--orderer must be solo or etcd');
  const config = readNodeConfig(dataDir)!;
  const endpoints = flags.etcd?.split(',').map((url) => url.trim()).filter((url) => url.length > 0) ?? config.orderer.endpoints;
  if (kind === 'etcd' && (endpoints === undefined || endpoints.length === 0)) throw new RangeError('--orderer etcd needs --etcd http://host:port[,…]');
  writeNodeConfig(dataDir, { ...config, orderer: { ...config.orderer, kind, ...(endpoints === undefined ? {} : { endpoints }) } });
}

async function start(flags: InitFlags & OrdererFlags & { host: string; port: string; demo: boolean }): Promise<void> {
  const dataDir = resolve(flags.data);
  const fresh = !isInitialised(dataDir);
  if (fresh) init(flags);
  applyOrdererFlags(dataDir, flags);
  const requested = Number(flags.port);
  if (!Number.isInteger(requested) || requested < 0 || requested > 65535) throw new RangeError('--port must be 0..65535');
  // Tokens name the server's URL, so a port of 0 is resolved before the app is built.
  const port = requested === 0 ? await freePort(flags.host) : requested;
  const node = await ChartChainNode.open(dataDir);
  loadValidator();
  // The demo is seeded on a node's first start (unless --no-demo); its users log in on every later start.
  const seeded = fresh && flags.demo && (await seedDemo(node));
  const demo = seeded || hasDemo(node);
  const origin = `http://${flags.host.includes(':') ? `[${flags.host}]` : flags.host}:${port}`;
  const users = demo ? await createDemoUsers(node.config.orgId) : undefined;
  const auth = await AuthServer.create({ issuer: origin, fhirBaseUrl: `${origin}/fhir`, users, clients: demoClients(origin) });
  const app = buildServer(node, { auth });
  const address = await app.listen({ host: flags.host, port });
  printBanner(node, address, origin, { seeded, demo });
  const shutdown = async (): Promise<void> => {
    await app.close();
    await node.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown());
  process.once('SIGTERM', () => void shutdown());
}

function printBanner(node: ChartChainNode, address: string, origin: string, demo: { seeded: boolean; demo: boolean }): void {
  const head = node.head();
  const lines = [
    `chartchain node ${node.config.orgId} at height ${head.height}, log size ${head.logSize}, listening on ${address}`,
    `FHIR R4 at ${origin}/fhir; SMART configuration at ${origin}/.well-known/smart-configuration`,
  ];
  if (demo.seeded) {
    lines.push('seeded the demo consortium: this practice (practitioner dr-ada) and the demo hospital (dr-grey) under a data-sharing agreement;');
    lines.push('  patients patient-0001 and two Synthea patients, each consenting to the practice (patient-0001 to the hospital too)');
  }
  if (demo.demo) {
    lines.push(`demo users dr-ada (practitioner), patient-0001, auditor-ann; password ${DEMO_PASSWORD} (demo only). A token:`);
    lines.push(`  npm run chartchain -- login --url ${origin} --user dr-ada --password ${DEMO_PASSWORD}`);
  }
  process.stdout.write(lines.join('\n') + '\n');
}

function initOptions(command: Command): Command {
  return command
    .option('--data <dir>', 'data directory', DEFAULT_DATA)
    .option('--org-id <id>', 'this organisation\'s id', 'demo-practice')
    .option('--org-name <name>', 'this organisation\'s name', 'Demo Internal Medicine Practice')
    .option('--network <name>', 'network name, for a new network', 'chartchain-dev');
}

/** Registers init, start and keys on `program`. */
export function registerNodeCommands(program: Command): void {
  initOptions(program.command('init').description('create keys, node.json and the genesis block in a new data directory')).action(init);

  initOptions(program.command('start').description('start a node (initialising it on first run); the solo orderer unless node.json or --orderer says etcd'))
    .option('--orderer <kind>', 'solo or etcd; saved in node.json')
    .option('--etcd <urls>', 'comma-separated etcd client URLs, e.g. http://127.0.0.1:2379; saved in node.json')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'HTTP port', process.env['PORT'] ?? '8080')
    .option('--no-demo', 'on first start, do not seed the demo practice and its demo users')
    .action(start);

  const keys = program.command('keys').description('show this node\'s public keys, or generate a key pair');
  keys
    .command('show', { isDefault: true })
    .description('print the organisation\'s key id and public keys (never the private keys)')
    .option('--data <dir>', 'data directory', DEFAULT_DATA)
    .action((flags: { data: string }) => {
      process.stdout.write(JSON.stringify(loadOrgKeysPublic(resolve(flags.data)), null, 2) + '\n');
    });
  keys
    .command('generate')
    .description('generate an Ed25519 signing key for a practitioner or patient; the seed goes only to --out (mode 0600)')
    .requiredOption('--out <file>', 'file to write the private key to')
    .action((flags: { out: string }) => {
      if (existsSync(flags.out)) throw new Error(`${flags.out} exists; refusing to overwrite a key`);
      const key = generateSigningKey();
      writeFileSync(flags.out, JSON.stringify({ signingSeed: toHex(exportSeed(key)) }) + '\n', { mode: 0o600 });
      process.stdout.write(JSON.stringify({ keyId: key.keyId, signingKey: toHex(key.publicKey) }, null, 2) + '\n');
    });
}
