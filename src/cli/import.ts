/**
 * `chartchain import FILE|DIR…`: posts FHIR batch and transaction Bundles to a node, in order,
 * with a progress bar and a summary. A journal of imported files (by SHA-256) lets an
 * interrupted import resume: files already imported are skipped.
 */
import { createHash } from 'node:crypto';
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { SingleBar } from 'cli-progress';
import type { Command } from 'commander';

/** What an import came to. */
export interface ImportSummary {
  files: number;
  skipped: number;
  resources: number;
  seconds: number;
  failures: { file: string; reason: string }[];
}

/** The JSON files named, directories expanded (sorted, not recursive), in the order given. */
export function bundleFiles(paths: readonly string[]): string[] {
  return paths.flatMap((path) =>
    statSync(path).isDirectory()
      ? readdirSync(path)
          .filter((name) => name.endsWith('.json'))
          .sort()
          .map((name) => join(path, name))
      : [path],
  );
}

/**
 * Where an import into `url` keeps its journal unless told otherwise: one file per node in the
 * user's state directory (`$XDG_STATE_HOME/chartchain`, else `~/.local/state/chartchain`), never
 * the working directory, so a checkout of this repository does not collect journals.
 */
export function defaultJournal(url: string, env: NodeJS.ProcessEnv = process.env): string {
  const stateHome = env.XDG_STATE_HOME ?? join(homedir(), '.local', 'state');
  const origin = createHash('sha256').update(new URL(url).origin).digest('hex').slice(0, 16);
  return join(stateHome, 'chartchain', `import-${origin}.journal`);
}

/** Posts each file to `fhirBase` with `token`, skipping files the journal lists and appending those that succeed. */
export async function importBundles(
  fhirBase: string,
  token: string,
  files: readonly string[],
  journal: string,
  onFile: (done: number) => void = () => {},
): Promise<ImportSummary> {
  mkdirSync(dirname(journal), { recursive: true, mode: 0o700 });
  const done = new Set(
    existsSync(journal) ? readFileSync(journal, 'utf8').split('\n').filter(Boolean) : [],
  );
  const summary: ImportSummary = { files: 0, skipped: 0, resources: 0, seconds: 0, failures: [] };
  const started = performance.now();
  for (const [i, file] of files.entries()) {
    const bytes = readFileSync(file);
    const digest = createHash('sha256').update(bytes).digest('hex');
    if (done.has(digest)) summary.skipped += 1;
    else
      await importOne(fhirBase, token, file, bytes, summary, () =>
        appendFileSync(journal, `${digest}\n`, { mode: 0o600 }),
      );
    onFile(i + 1);
  }
  summary.seconds = (performance.now() - started) / 1000;
  return summary;
}

async function importOne(
  fhirBase: string,
  token: string,
  file: string,
  bytes: Buffer,
  summary: ImportSummary,
  record: () => void,
): Promise<void> {
  const response = await fetch(fhirBase, {
    method: 'POST',
    headers: { 'content-type': 'application/fhir+json', authorization: `Bearer ${token}` },
    body: new Uint8Array(bytes),
  });
  const body = (await response.json()) as {
    resourceType?: string;
    entry?: { response?: { status?: string; outcome?: { issue?: { diagnostics?: string }[] } } }[];
    issue?: { diagnostics?: string }[];
  };
  if (!response.ok) {
    summary.failures.push({
      file,
      reason: `HTTP ${response.status}: ${body.issue?.map((issue) => issue.diagnostics).join('; ') ?? 'no OperationOutcome'}`,
    });
    return;
  }
  const entries = body.entry ?? [];
  const failed = entries.filter((entry) => !/^2\d\d/.test(entry.response?.status ?? ''));
  summary.resources += entries.length - failed.length;
  for (const entry of failed)
    summary.failures.push({
      file,
      reason: `${entry.response?.status ?? 'no status'}: ${entry.response?.outcome?.issue?.[0]?.diagnostics ?? ''}`,
    });
  summary.files += 1;
  // A batch with failed entries is journalled too: its other entries landed, and re-posting would duplicate them.
  record();
}

/** Registers import on `program`. */
export function registerImport(program: Command): void {
  program
    .command('import <paths...>')
    .description(
      'post FHIR batch/transaction Bundles (files or directories of .json) to a node; resumable',
    )
    .option('--url <url>', 'the node', 'http://127.0.0.1:8080')
    .requiredOption('--token <token>', 'an access token (see `chartchain login`)')
    .option(
      '--journal <file>',
      'where imported files are recorded, to resume an interrupted import (default: one per node under ~/.local/state/chartchain)',
    )
    .action(async (paths: string[], flags: { url: string; token: string; journal?: string }) => {
      const files = bundleFiles(paths);
      const bar = new SingleBar({
        format: 'import [{bar}] {value}/{total} bundles',
        stream: process.stderr,
        hideCursor: true,
      });
      if (process.stderr.isTTY) bar.start(files.length, 0);
      const summary = await importBundles(
        `${new URL(flags.url).origin}/fhir`,
        flags.token,
        files,
        flags.journal ?? defaultJournal(flags.url),
        (done) => bar.update(done),
      );
      bar.stop();
      const rate = summary.seconds > 0 ? Math.round(summary.resources / summary.seconds) : 0;
      process.stdout.write(
        `imported ${summary.resources} resources from ${summary.files} bundles in ${summary.seconds.toFixed(1)} s (${rate} resources/s); ${summary.skipped} already imported; ${summary.failures.length} failures\n`,
      );
      for (const failure of summary.failures)
        process.stdout.write(`  ${failure.file}: ${failure.reason}\n`);
      if (summary.failures.length > 0) process.exitCode = 2;
    });
}
