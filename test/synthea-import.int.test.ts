/**
 * Every Synthea fixture imported over HTTP through `chartchain import`'s code path: reference
 * data (batch, ifNoneExist), then the modern bundles (conditional references to it), then the
 * legacy ones (urn:uuid references); counts checked against the bundles, and a re-run resumes.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { parseScopes } from '../src/api/auth/index.js';
import { bundleFiles, importBundles } from '../src/cli/import.js';
import { RECORD_TABLE, type RecordRow } from '../src/contracts/index.js';
import type { ChartChainNode } from '../src/node/index.js';
import { startFhirServer } from './fhir-server.js';

const SYNTHEA =
  process.env['CHARTCHAIN_FIXTURES'] === undefined
    ? fileURLToPath(new URL('./fixtures/synthea', import.meta.url))
    : join(process.env['CHARTCHAIN_FIXTURES'], 'synthea');

test(
  'all Synthea fixtures import over HTTP, every resource lands as a record, and an interrupted import resumes',
  { timeout: 600_000 },
  async (t) => {
    // Only a practitioner to sign with: the demo seed's own Synthea patients would make the reference data's conditional creates match.
    const registerPractitioner = async (node: ChartChainNode): Promise<void> => {
      const keys = node.records.enrol('practitioner', 'dr-ada');
      const registered = await node.submit(
        node.signAsOrg('membership.register-practitioner', { practitionerId: 'dr-ada', ...keys }),
      );
      assert.ok(registered.ok);
      assert.equal((await node.waitForTx(registered.txId)).status, 'ok');
    };
    const { node, auth, origin } = await startFhirServer(t, { prepare: registerPractitioner });
    const dir = mkdtempSync(join(tmpdir(), 'chartchain-synthea-journal-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const token = await auth.tokens.issue({
      principal: { kind: 'practitioner', id: 'dr-ada', org: 'demo-practice' },
      scopes: parseScopes('user/*.cruds'),
    });
    const typesOf = (): Map<string, number> => {
      const types = new Map<string, number>();
      for (const recordId of node.store.stateKeys(RECORD_TABLE)) {
        const type = (node.store.state.get(RECORD_TABLE, recordId) as unknown as RecordRow)
          .resourceType;
        types.set(type, (types.get(type) ?? 0) + 1);
      }
      return types;
    };
    const before = typesOf();

    const all = bundleFiles([SYNTHEA]);
    const files = [
      ...bundleFiles([join(SYNTHEA, 'reference-data')]),
      ...all.filter((file) => file.includes('modern2021-')),
      ...all.filter((file) => file.includes('legacy2019-')),
    ];
    assert.equal(
      files.length,
      readFileSync(join(SYNTHEA, 'MANIFEST.tsv'), 'utf8').split('\n').slice(1).filter(Boolean)
        .length,
      'every Bundle the manifest lists',
    );
    const half = Math.floor(files.length / 2);
    const expected = new Map<string, number>();
    for (const file of files) {
      for (const entry of (
        JSON.parse(readFileSync(file, 'utf8')) as {
          entry: { resource: { resourceType: string } }[];
        }
      ).entry) {
        expected.set(
          entry.resource.resourceType,
          (expected.get(entry.resource.resourceType) ?? 0) + 1,
        );
      }
    }
    const journal = join(dir, 'journal');
    const first = await importBundles(`${origin}/fhir`, token, files.slice(0, half), journal);
    assert.deepEqual([first.failures, first.files, first.skipped], [[], half, 0]);
    // Resuming: the first half is skipped, the rest imported.
    const rest = await importBundles(`${origin}/fhir`, token, files, journal);
    assert.deepEqual([rest.failures, rest.files, rest.skipped], [[], files.length - half, half]);
    assert.equal(
      first.resources + rest.resources,
      [...expected.values()].reduce((sum, count) => sum + count, 0),
    );

    const landed = new Map(
      [...typesOf()]
        .map(([type, count]) => [type, count - (before.get(type) ?? 0)])
        .filter(([, count]) => count !== 0) as [string, number][],
    );
    assert.deepEqual(
      Object.fromEntries([...landed].sort()),
      Object.fromEntries([...expected].sort()),
    );
  },
);
