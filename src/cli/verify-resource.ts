/** `chartchain verify-resource`: checks a $verify answer without trusting the node that gave it. */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { checkResourceProof, proofFromParameters } from '../fhir/index.js';

/** Checks the Parameters in `file` ('-' for stdin); exit 0 when no check failed, 2 otherwise. */
function verifyResource(file: string, flags: { nodeKey?: string }): void {
  const text = readFileSync(file === '-' ? 0 : file, 'utf8');
  let checks;
  try {
    checks = checkResourceProof(proofFromParameters(JSON.parse(text)), flags.nodeKey);
  } catch (error) {
    process.stdout.write(
      `FAILED: not a $verify answer: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    process.exitCode = 2;
    return;
  }
  for (const check of checks)
    process.stdout.write(
      `${check.result.padEnd(7)} ${check.check}${check.result === 'ok' ? '' : `: ${check.detail}`}\n`,
    );
  const failed = checks.filter((check) => check.result === 'failed');
  process.stdout.write(
    failed.length === 0
      ? 'ok: the resource is the one anchored on the ledger\n'
      : `FAILED: ${failed.map((check) => check.check).join(', ')}\n`,
  );
  if (failed.length > 0) process.exitCode = 2;
}

/** Registers verify-resource on `program`. */
export function registerVerifyResource(program: Command): void {
  program
    .command('verify-resource <file>')
    .description(
      'check a [type]/[id]/_history/[vid]/$verify answer (file, or - for stdin): signature, commitment, inclusion, tree head',
    )
    .option(
      '--node-key <hex>',
      "the node's Ed25519 public key (from `chartchain keys show`) that must have signed the tree head",
    )
    .action(verifyResource);
}
