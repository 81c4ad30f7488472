import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { isTxStatus } from '../ledger/index.js';
import { CONTRACT_REFUSALS, ENVELOPE_REJECTIONS, isKnownTxStatus } from './refusals.js';

const here = fileURLToPath(new URL('.', import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory()
      ? sources(path)
      : entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')
        ? [path]
        : [];
  });
}

test('every refusal a contract spells out is in the closed union', () => {
  const spelled = new Set(
    sources(here).flatMap((path) =>
      [...readFileSync(path, 'utf8').matchAll(/'((?:denied|invalid):[a-z0-9-]+)'/g)].map(
        (match) => match[1]!,
      ),
    ),
  );
  const known = new Set<string>([...CONTRACT_REFUSALS, ...ENVELOPE_REJECTIONS]);
  assert.deepEqual(
    [...spelled].filter((status) => !known.has(status)),
    [],
  );
});

test('every known status is a well-formed wire status, and nothing else is known', () => {
  for (const status of ['ok', ...ENVELOPE_REJECTIONS, ...CONTRACT_REFUSALS]) {
    assert.ok(isTxStatus(status), status);
    assert.ok(isKnownTxStatus(status), status);
  }
  assert.equal(isKnownTxStatus('denied:no-such-reason'), false);
  assert.ok(isTxStatus('denied:no-such-reason'), 'a status from an older chain still decodes');
});
