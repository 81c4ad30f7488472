/**
 * `chartchain backup` and `chartchain restore`: an online, consistent backup of a node's data
 * directory as one gzipped tar file (owner-only), and its restore into a new data directory.
 * The keystore secret is never in a backup; restore says so and where it must come from.
 */
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  renameSync,
  rmSync,
  chmodSync,
  statSync,
} from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { create, extract } from 'tar';
import { backupDataDir, checkBackup } from '../node/index.js';

/** Backs up the live `dataDir` into the file `out`; resolves with a one-line summary. */
export async function backup(dataDir: string, out: string): Promise<string> {
  if (existsSync(out)) throw new Error(`${out} exists; refusing to overwrite it`);
  const staging = mkdtempSync(join(dirname(resolve(out)), '.chartchain-backup-'));
  try {
    const manifest = await backupDataDir(resolve(dataDir), staging);
    await create(
      { gzip: true, file: out, cwd: staging, portable: true, mode: 0o600 },
      readdirSync(staging),
    );
    chmodSync(out, 0o600);
    return `backed up ${manifest.orgId} (network ${manifest.network}): ${Object.keys(manifest.files).length} files to ${out}; the keystore secret is NOT in it`;
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

/** Restores the backup file `file` into `dataDir`, which must not exist or be empty; resolves with a summary. */
export async function restore(file: string, dataDir: string): Promise<string> {
  const target = resolve(dataDir);
  if (existsSync(target) && readdirSync(target).length > 0)
    throw new Error(`${dataDir} is not empty; restore into a new directory`);
  const staging = mkdtempSync(join(dirname(target), '.chartchain-restore-'));
  try {
    await extract({ file, cwd: staging, strict: true, preservePaths: false });
    const manifest = checkBackup(staging);
    rmSync(join(staging, 'manifest.json'));
    if (existsSync(target)) rmSync(target, { recursive: true });
    renameSync(staging, target);
    chmodTree(target);
    return [
      `restored ${manifest.orgId} (network ${manifest.network}, backed up ${manifest.createdAt}) into ${dataDir}`,
      `before starting it, give it the keystore secret: set CHARTCHAIN_KEYSTORE_SECRET, or copy the original keys/node-secret (mode 0600) into ${join(dataDir, 'keys')}`,
      `then check it: chartchain verify --data ${dataDir}`,
    ].join('\n');
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

/** Owner-only, whatever the archive said: directories 0700, files 0600. */
function chmodTree(root: string): void {
  chmodSync(root, 0o700);
  for (const path of readdirSync(root, { recursive: true, encoding: 'utf8' })) {
    const full = join(root, path);
    chmodSync(full, statSync(full).isDirectory() ? 0o700 : 0o600);
  }
}

/** Registers backup and restore on `program`. */
export function registerBackupCommands(program: Command): void {
  program
    .command('backup')
    .description(
      'online, consistent backup of a node (chain, ordering queue, blobs, sealed keystore; never the keystore secret)',
    )
    .option('--data <dir>', 'data directory', './data')
    .requiredOption('--out <file>', 'the backup file to write (gzipped tar, mode 0600)')
    .action(async (flags: { data: string; out: string }) => {
      process.stdout.write(`${await backup(flags.data, flags.out)}\n`);
    });
  program
    .command('restore')
    .description(
      "restore a backup into a new data directory, checking every file against the backup's manifest",
    )
    .requiredOption('--in <file>', 'the backup file')
    .requiredOption('--data <dir>', 'the new data directory (must not exist, or be empty)')
    .action(async (flags: { in: string; data: string }) => {
      process.stdout.write(`${await restore(flags.in, flags.data)}\n`);
    });
}
