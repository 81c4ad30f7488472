/**
 * Online backup and restore of a node's data directory. A backup holds:
 * - every SQLite database but the search index (derived, rebuilt at start), copied with SQLite's
 *   backup API: the ordering queue first and the chain last, so a transaction acknowledged before
 *   the backup began is in one or the other (a transaction that moved from the queue to the
 *   chain in between is in both, and the node refuses its replay by txId);
 * - the ciphertext blobs, copied after the chain, so every blob the copied chain anchors is there
 *   (blobs are durable before their anchoring transaction is signed);
 * - node.json and the SEALED keystore. Never the keystore secret (`keys/node-secret`): without it
 *   the backup cannot decrypt anything, and it must be kept apart (REFERENCE.md, Backup and restore).
 * A manifest lists every file with its SHA-256, which restore checks.
 */
import { createHash } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { backupDatabase } from '../storage/index.js';
import { readNodeConfig } from './node-config.js';

/** What a backup holds, written as `manifest.json` at its root. */
export interface BackupManifest {
  readonly format: 'chartchain-backup/1';
  readonly network: string;
  readonly orgId: string;
  readonly createdAt: string;
  /** Relative path → hex SHA-256 of its bytes. */
  readonly files: Record<string, string>;
}

const MANIFEST = 'manifest.json';
const NEVER_COPIED = new Set(['search.db', join('keys', 'node-secret')]);

/** Copies `dataDir`, live, into the empty directory `target`; resolves with the manifest. */
export async function backupDataDir(dataDir: string, target: string): Promise<BackupManifest> {
  const config = readNodeConfig(dataDir);
  if (config === undefined) throw new Error(`${dataDir} holds no node`);
  mkdirSync(target, { recursive: true, mode: 0o700 });
  const databases = readdirSync(dataDir).filter(
    (name) => name.endsWith('.db') && !NEVER_COPIED.has(name),
  );
  // The chain last: see the header comment.
  databases.sort(
    (a, b) => Number(a === 'chain.db') - Number(b === 'chain.db') || a.localeCompare(b),
  );
  for (const name of databases) await backupDatabase(join(dataDir, name), join(target, name));
  for (const file of filesUnder(dataDir).filter(isCopiedAsFile))
    copyOwnerOnly(join(dataDir, file), join(target, file));
  const files = Object.fromEntries(
    filesUnder(target)
      .sort()
      .map((path) => [path, sha256File(join(target, path))]),
  );
  const manifest: BackupManifest = {
    format: 'chartchain-backup/1',
    network: config.network,
    orgId: config.orgId,
    createdAt: new Date().toISOString(),
    files,
  };
  writeFileSync(join(target, MANIFEST), JSON.stringify(manifest, null, 2) + '\n', { mode: 0o600 });
  return manifest;
}

/** Checks an unpacked backup in `dir` against its manifest; throws naming the first file that differs. */
export function checkBackup(dir: string): BackupManifest {
  const path = join(dir, MANIFEST);
  if (!existsSync(path)) throw new Error('not a ChartChain backup: no manifest.json');
  const manifest = JSON.parse(readFileSync(path, 'utf8')) as BackupManifest;
  if (manifest.format !== 'chartchain-backup/1')
    throw new Error(`unknown backup format ${String(manifest.format)}`);
  const present = filesUnder(dir).filter((file) => file !== MANIFEST);
  for (const file of present)
    if (!(file in manifest.files))
      throw new Error(`backup holds a file its manifest does not list: ${file}`);
  for (const [file, digest] of Object.entries(manifest.files)) {
    if (!existsSync(join(dir, file))) throw new Error(`backup is missing ${file}`);
    if (sha256File(join(dir, file)) !== digest)
      throw new Error(`backup file ${file} does not match its manifest hash`);
  }
  return manifest;
}

/** Databases go through the backup API; a write's temporary file is not yet a blob. */
function isCopiedAsFile(path: string): boolean {
  return (
    !/\.db(-wal|-shm|-journal)?$/.test(path) && !path.endsWith('.tmp') && !NEVER_COPIED.has(path)
  );
}

/** Every regular file under `root`, as paths relative to it; one removed while we look is left out. */
function filesUnder(root: string): string[] {
  return readdirSync(root, { recursive: true, encoding: 'utf8' }).filter(
    (path) => statSync(join(root, path), { throwIfNoEntry: false })?.isFile() === true,
  );
}

/** Copies `from` to `to`, owner-only; a file removed meanwhile (an erased blob) is skipped. */
function copyOwnerOnly(from: string, to: string): void {
  mkdirSync(dirname(to), { recursive: true, mode: 0o700 });
  try {
    copyFileSync(from, to);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  chmodSync(to, 0o600);
}

function sha256File(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}
