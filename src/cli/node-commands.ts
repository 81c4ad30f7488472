/** `chartchain init`, `start` and `keys`. */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import type { FastifyInstance } from 'fastify';
import {
  AccountDirectory,
  ACCOUNTS_FILE,
  AccountStore,
  AuthServer,
  buildServer,
  createDemoUsers,
  createNetworkDemoUsers,
  DEMO_PASSWORD,
  type MllpServerOptions,
  type TlsCredentials,
} from '../api/index.js';
import { DEMO_PRACTICE, demoPractitionerOf, seedNetworkDemo } from './demo-network-seed.js';
import { publicClients } from './demo-clients.js';
import { freePort } from './free-port.js';
import { hasDemo, seedDemo } from './demo-seed.js';
import { consentModelOf } from '../contracts/index.js';
import { consentModelFlag } from './consent-model-flag.js';
import { loadValidator } from '../fhir/index.js';
import { exportSeed, generateSigningKey, toHex } from '../crypto/index.js';
import {
  adoptGenesis,
  awaitsGenesis,
  ChartChainNode,
  collectOrphanBlobs,
  isInitialised,
  readNodeConfig,
  writeNodeConfig,
} from '../node/index.js';
import { loadOrgKeysPublic } from './org-keys-public.js';
import { clientRegistry } from './client-commands.js';
import { orgClient } from './org-client.js';
import { readTlsFiles, type TlsFlags } from './tls-files.js';

const DEFAULT_DATA = './data';
/** The client-assertion replay cache, beside the node's own files. */
const AUTH_REPLAY_FILE = 'auth.db';
const REFRESH_TOKEN_FILE = 'sessions.db';

interface InitFlags {
  data: string;
  orgId: string;
  orgName: string;
  network: string;
  genesis?: string;
  join?: boolean;
  consentModel?: string;
}

function readJsonFile(path: string): unknown {
  return JSON.parse(readFileSync(resolve(path), 'utf8'));
}

function init(flags: InitFlags): void {
  if (flags.join === true && flags.genesis !== undefined)
    throw new Error('--join and --genesis exclude each other');
  const genesis = flags.genesis === undefined ? {} : { genesis: readJsonFile(flags.genesis) };
  // A directory that has keys (made with --join) takes its genesis here or at start --genesis;
  // one that already has a chain only checks the file against the genesis it pinned.
  if ('genesis' in genesis && readNodeConfig(resolve(flags.data)) !== undefined)
    adoptGenesis(resolve(flags.data), genesis.genesis);
  else
    ChartChainNode.init(resolve(flags.data), {
      orgId: flags.orgId,
      orgName: flags.orgName,
      network: flags.network,
      join: flags.join === true,
      consentModel: consentModelFlag(flags.consentModel),
      ...genesis,
    });
  const config = readNodeConfig(resolve(flags.data))!;
  const what =
    flags.join === true
      ? 'awaiting a network genesis (chartchain identity export, then start --genesis FILE)'
      : `${flags.genesis === undefined ? 'founding' : 'member of'} network "${config.network}", genesis ${config.genesisHash}`;
  process.stdout.write(
    `initialised ${config.orgId} (${config.orgName}) ${what} in ${flags.data}\n`,
  );
}

interface OrdererFlags {
  orderer?: string;
  etcd?: string;
  proposerLease?: string;
}

/**
 * `--orderer solo|etcd`, `--etcd URL[,URL…]` and `--proposer-lease SECONDS` rewrite node.json's
 * orderer choice, which later starts keep. Throws RangeError on an unknown kind, an etcd orderer
 * without endpoints, or a lease that is not a whole number of seconds from 1 to 60.
 */
export function applyOrdererFlags(dataDir: string, flags: OrdererFlags): void {
  if (flags.orderer === undefined && flags.etcd === undefined && flags.proposerLease === undefined)
    return;
  const config = readNodeConfig(dataDir)!;
  const kind = flags.orderer ?? (flags.etcd === undefined ? config.orderer.kind : 'etcd');
  if (kind !== 'solo' && kind !== 'etcd') throw new RangeError('--orderer must be solo or etcd');
  const endpoints =
    flags.etcd
      ?.split(',')
      .map((url) => url.trim())
      .filter((url) => url.length > 0) ?? config.orderer.endpoints;
  if (kind === 'etcd' && (endpoints === undefined || endpoints.length === 0))
    throw new RangeError('--orderer etcd needs --etcd http://host:port[,…]');
  const leaseTtlSec =
    flags.proposerLease === undefined
      ? config.orderer.leaseTtlSec
      : proposerLease(flags.proposerLease);
  writeNodeConfig(dataDir, {
    ...config,
    orderer: {
      ...config.orderer,
      kind,
      ...(endpoints === undefined ? {} : { endpoints }),
      ...(leaseTtlSec === undefined ? {} : { leaseTtlSec }),
    },
  });
}

function proposerLease(text: string): number {
  const seconds = Number(text);
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > 60)
    throw new RangeError('--proposer-lease must be a whole number of seconds from 1 to 60');
  return seconds;
}

/** Brings `dataDir` to block 0: a fresh directory is initialised; --genesis is adopted or checked against the pinned one. True when it was fresh. */
function prepareDataDir(dataDir: string, flags: InitFlags): boolean {
  if (flags.genesis !== undefined && readNodeConfig(dataDir) !== undefined) {
    adoptGenesis(dataDir, readJsonFile(flags.genesis));
    return false;
  }
  if (awaitsGenesis(dataDir))
    throw new Error(`${flags.data} has joined no network yet: start it with --genesis FILE`);
  if (isInitialised(dataDir)) return false;
  init(flags);
  return true;
}

/** How `start` was asked to run. */
export interface StartFlags extends InitFlags, OrdererFlags, TlsFlags {
  host: string;
  port: string;
  demo: boolean;
  /** Seed this organisation's part of a local demo network (`network up`). */
  demoNetwork?: boolean;
  /** Structured request logs to stdout; `chartchain start` turns them on. */
  logger?: boolean;
  /** An HL7 v2 MLLP listener on this port (off when absent). */
  mllpPort?: string;
  mllpHost?: string;
  /** The practitioner id v2 writes are signed as. */
  mllpPractitioner?: string;
}

/** A node serving HTTP, as `start` opens it. */
export interface StartedNode {
  readonly node: ChartChainNode;
  readonly app: FastifyInstance;
  readonly address: string;
  readonly origin: string;
  readonly demo: { readonly seeded: boolean; readonly demo: boolean };
  close(): Promise<void>;
}

/**
 * Opens the node in `flags.data` (initialising it, and seeding the demo unless `--no-demo`, on
 * first start) and serves it, over HTTPS with `--tls-cert` and `--tls-key`. The demo users log
 * in only while the demo is on: a node seeded once and started later with `--no-demo` keeps
 * their records but not their logins. Throws Error naming the flag for unusable TLS files.
 */
export async function openServer(flags: StartFlags): Promise<StartedNode> {
  // Read first: a node that cannot serve the TLS it was asked for touches nothing.
  const tls = readTlsFiles(flags);
  const dataDir = resolve(flags.data);
  // The demo is a one-node consortium: it is never seeded into a network's genesis.
  const fresh = prepareDataDir(dataDir, flags) && flags.genesis === undefined;
  applyOrdererFlags(dataDir, flags);
  const requested = Number(flags.port);
  if (!Number.isInteger(requested) || requested < 0 || requested > 65535)
    throw new RangeError('--port must be 0..65535');
  // Tokens name the server's URL, so a port of 0 is resolved before the app is built.
  const port = requested === 0 ? await freePort(flags.host) : requested;
  const node = await ChartChainNode.open(dataDir);
  try {
    return await serveNode(node, flags, { tls, dataDir, fresh, port });
  } catch (error) {
    await node.close(); // a start that fails part-way leaves nothing open
    throw error;
  }
}

/** The rest of openServer, over the opened `node`. */
async function serveNode(
  node: ChartChainNode,
  flags: StartFlags,
  {
    tls,
    dataDir,
    fresh,
    port,
  }: { tls: TlsCredentials | undefined; dataDir: string; fresh: boolean; port: number },
): Promise<StartedNode> {
  // Ciphertexts of writes that never committed (refused, or cut short by a crash) are collected; what is pending is kept.
  collectOrphanBlobs(node);
  loadValidator();
  // A network's demo is seeded by each organisation's node, its own part only, on first start.
  const seeded =
    flags.demoNetwork === true
      ? await seedNetworkDemo(node, reportLate(node))
      : fresh && flags.demo && (await seedDemo(node));
  const demo = flags.demo && (seeded || hasDemo(node));
  const origin = `${tls === undefined ? 'http' : 'https'}://${flags.host.includes(':') ? `[${flags.host}]` : flags.host}:${port}`;
  const demoUsers =
    flags.demoNetwork === true
      ? await networkDemoUsers(node)
      : demo
        ? await createDemoUsers(node.config.orgId, node.homePatients)
        : undefined;
  const own = publicClients(origin);
  await own.register(orgClient(node.config.orgId, node.keys.signing.publicKey));
  const clients = clientRegistry(dataDir, node.config.orgId, own, {
    fault: (reason) => node.records.raiseCondition('clients', `backend clients refused: ${reason}`),
    repaired: () => node.records.clearCondition('clients'),
  });
  const accounts = new AccountStore(join(dataDir, ACCOUNTS_FILE));
  const users = new AccountDirectory(accounts, {
    org: node.config.orgId,
    patients: node.homePatients,
    ...(demoUsers === undefined ? {} : { fallback: demoUsers }),
  });
  const auth = await AuthServer.create({
    issuer: origin,
    fhirBaseUrl: `${origin}/fhir`,
    accounts: users,
    clients,
    keystore: node.keys.keystore,
    replayCachePath: join(dataDir, AUTH_REPLAY_FILE),
    refreshTokenPath: join(dataDir, REFRESH_TOKEN_FILE),
  });
  const app = buildServer(node, {
    auth,
    logger: flags.logger === true,
    ...(tls === undefined ? {} : { tls }),
    ...mllpOptions(flags),
  });
  const address = await app.listen({ host: flags.host, port });
  const close = async (): Promise<void> => {
    await app.close();
    auth.close();
    accounts.close();
    await node.close();
  };
  return { node, app, address, origin, demo: { seeded, demo }, close };
}

/** The MLLP listener `--mllp-port` asks for; none without it. Throws RangeError for a bad port. */
function mllpOptions(flags: StartFlags): { mllp?: MllpServerOptions } {
  if (flags.mllpPort === undefined) return {};
  const port = Number(flags.mllpPort);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new RangeError('--mllp-port must be 0..65535');
  return {
    mllp: {
      host: flags.mllpHost ?? '127.0.0.1',
      port,
      practitionerId: flags.mllpPractitioner ?? 'v2-interface',
      onListening: (bound) =>
        process.stdout.write(`HL7 v2 (MLLP) on ${flags.mllpHost ?? '127.0.0.1'}:${bound}\n`),
    },
  };
}

async function start(flags: StartFlags): Promise<void> {
  const started = await openServer({ ...flags, logger: true });
  printBanner(started.node, started.address, started.origin, started.demo);
  const shutdown = async (): Promise<void> => {
    await started.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown());
  process.once('SIGTERM', () => void shutdown());
}

function networkDemoUsers(node: ChartChainNode) {
  const orgId = node.config.orgId;
  return createNetworkDemoUsers(
    orgId,
    demoPractitionerOf(orgId),
    orgId === DEMO_PRACTICE,
    node.homePatients,
  );
}

/** How the background part of a network demo ended, for the operator. */
function reportLate(node: ChartChainNode): (error?: Error) => void {
  return (error) => {
    if (error === undefined)
      process.stdout.write(
        `${node.config.orgId} countersigned the demo practice's data-sharing agreement\n`,
      );
    else process.stderr.write(`demo seeding failed: ${error.message}\n`);
  };
}

function printBanner(
  node: ChartChainNode,
  address: string,
  origin: string,
  demo: { seeded: boolean; demo: boolean },
): void {
  const head = node.head();
  const lines = [
    `chartchain node ${node.config.orgId} at height ${head.height}, log size ${head.logSize}, listening on ${address}`,
    `network "${node.config.network}", genesis ${node.blockHash(0)}`,
    `web app at ${origin}/; FHIR R4 at ${origin}/fhir; SMART configuration at ${origin}/.well-known/smart-configuration`,
  ];
  if (demo.seeded) {
    lines.push(
      'seeded the demo consortium: this practice (practitioner dr-ada) and the demo hospital (dr-grey) under a data-sharing agreement;',
    );
    const practice =
      consentModelOf(node.store.state) === 'opt-out'
        ? 'treated by the practice, their home organisation, without a grant'
        : 'each consenting to the practice';
    lines.push(
      `  patients patient-0001 and two Synthea patients, ${practice} (patient-0001 consents to the hospital too)`,
    );
  }
  if (demo.demo) {
    lines.push(
      `demo users dr-ada (practitioner), patient-0001, auditor-ann; password ${DEMO_PASSWORD} (demo only). A token:`,
    );
    lines.push(
      `  npm run chartchain -- login --url ${origin} --user dr-ada --password ${DEMO_PASSWORD}`,
    );
  }
  process.stdout.write(lines.join('\n') + '\n');
}

function initOptions(command: Command): Command {
  return command
    .option('--data <dir>', 'data directory', DEFAULT_DATA)
    .option('--org-id <id>', "this organisation's id", 'demo-practice')
    .option('--org-name <name>', "this organisation's name", 'Demo Internal Medicine Practice')
    .option('--network <name>', 'network name, for a new one-member network', 'chartchain-dev')
    .option(
      '--genesis <file>',
      'start from this network genesis file (chartchain genesis); checked against the pinned one on later starts',
    )
    .option(
      '--consent-model <model>',
      "a new one-member network's consent model: opt-out (the patient's home organisation treats them without a grant unless they restrict it) or opt-in (every access needs a grant)",
      'opt-out',
    );
}

/** Registers init, start and keys on `program`. */
export function registerNodeCommands(program: Command): void {
  initOptions(
    program
      .command('init')
      .description(
        'create keys, node.json and block 0 (a one-member network, or --genesis FILE) in a new data directory',
      ),
  )
    .option(
      '--join',
      'create only keys and node.json, to join a network whose genesis is yet to be built',
    )
    .action(init);

  initOptions(
    program
      .command('start')
      .description(
        'start a node (initialising it on first run); the solo orderer unless node.json or --orderer says etcd',
      ),
  )
    .option('--orderer <kind>', 'solo or etcd; saved in node.json')
    .option(
      '--etcd <urls>',
      'comma-separated etcd client URLs, e.g. http://127.0.0.1:2379; saved in node.json',
    )
    .option(
      '--proposer-lease <seconds>',
      "etcd only: how long a dead proposer holds its role (default 2; at least etcd's minimum lease, 1.5 × its election timeout); saved in node.json",
    )
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option(
      '--port <port>',
      'port to listen on (HTTP, or HTTPS with --tls-cert)',
      process.env['PORT'] ?? '8080',
    )
    .option(
      '--tls-cert <file>',
      'serve HTTPS with this PEM certificate (chain, leaf first); needs --tls-key',
    )
    .option('--tls-key <file>', 'the PEM private key of --tls-cert')
    .option(
      '--no-demo',
      'do not seed the demo practice on first start, and never let the demo users log in',
    )
    .option(
      '--demo-network',
      "seed this organisation's part of the demo network consortium (chartchain network up does)",
    )
    .option(
      '--mllp-port <port>',
      'take HL7 v2 ADT^A01/A04/A08 and ORU^R01 messages over MLLP on this port (off by default)',
    )
    .option(
      '--mllp-host <host>',
      'address the MLLP listener binds: loopback only (tunnel a feed from another machine)',
    )
    .option(
      '--mllp-practitioner <id>',
      'the practitioner id v2 writes are signed as, registered on first start',
      'v2-interface',
    )
    .action(start);

  const keys = program
    .command('keys')
    .description("show this node's public keys, or generate a key pair");
  keys
    .command('show', { isDefault: true })
    .description("print the organisation's key id and public keys (never the private keys)")
    .option('--data <dir>', 'data directory', DEFAULT_DATA)
    .action((flags: { data: string }) => {
      process.stdout.write(JSON.stringify(loadOrgKeysPublic(resolve(flags.data)), null, 2) + '\n');
    });
  keys
    .command('generate')
    .description(
      'generate an Ed25519 signing key for a practitioner or patient; the seed goes only to --out (mode 0600)',
    )
    .requiredOption('--out <file>', 'file to write the private key to')
    .action((flags: { out: string }) => {
      if (existsSync(flags.out))
        throw new Error(`${flags.out} exists; refusing to overwrite a key`);
      const key = generateSigningKey();
      writeFileSync(flags.out, JSON.stringify({ signingSeed: toHex(exportSeed(key)) }) + '\n', {
        mode: 0o600,
      });
      process.stdout.write(
        JSON.stringify({ keyId: key.keyId, signingKey: toHex(key.publicKey) }, null, 2) + '\n',
      );
    });
}
