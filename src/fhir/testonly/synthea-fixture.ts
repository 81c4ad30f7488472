/**
 * Test and benchmark input: the resources of the Synthea transaction Bundles in
 * test/fixtures/synthea, made addressable. Each resource gets its urn:uuid as id when it
 * has none, and every urn:uuid reference to an entry of the same Bundle becomes [Type]/[id],
 * as an import would do, so that reference parameters see real references.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { JsonValue } from '../../crypto/index.js';
import type { JsonObject } from '../../ledger/index.js';
import type { IndexedMeta } from '../search/search-index.js';

/** The Synthea fixture folder. */
export const SYNTHEA_DIR =
  process.env['CHARTCHAIN_FIXTURES'] === undefined
    ? fileURLToPath(new URL('../../../test/fixtures/synthea', import.meta.url))
    : join(process.env['CHARTCHAIN_FIXTURES'], 'synthea');
/** A fixed lastUpdated base, so runs are reproducible. */
const LAST_UPDATED_BASE_MS = Date.UTC(2024, 0, 1);

/** One fixture resource with what the index needs besides it. */
export interface FixtureResource {
  readonly resource: JsonObject;
  readonly meta: IndexedMeta;
}

/** Bundle files in the fixture folder whose names start with `prefix`, sorted; reference-data/ included when asked for. */
export function syntheaFiles(prefix: string, withReferenceData = false): string[] {
  const own = readdirSync(SYNTHEA_DIR)
    .filter((name) => name.startsWith(prefix) && name.endsWith('.json'))
    .sort();
  const reference = withReferenceData
    ? readdirSync(join(SYNTHEA_DIR, 'reference-data'))
        .sort()
        .map((name) => join('reference-data', name))
    : [];
  return [...own, ...reference].map((name) => join(SYNTHEA_DIR, name));
}

/**
 * The resources of `files`, in file then entry order, each with a patientId (the Patient's id,
 * or the Patient its subject or patient element names) and a lastUpdated that rises every
 * third resource, so that ties exist for sorting tests.
 */
export function loadSynthea(files: readonly string[]): FixtureResource[] {
  const resources = files.flatMap((file) =>
    bundleResources(JSON.parse(readFileSync(file, 'utf8')) as JsonObject),
  );
  return resources.map((resource, index) => ({
    resource,
    meta: {
      patientId: patientIdOf(resource),
      lastUpdated: LAST_UPDATED_BASE_MS + Math.floor(index / 3) * 1000,
    },
  }));
}

function bundleResources(bundle: JsonObject): JsonObject[] {
  const entries = (bundle['entry'] as JsonObject[] | undefined) ?? [];
  const urns = new Map<string, string>();
  const resources = entries.map((entry) => {
    const resource = structuredClone(entry['resource'] as JsonObject);
    const fullUrl = typeof entry['fullUrl'] === 'string' ? entry['fullUrl'] : '';
    if (resource['id'] === undefined && fullUrl.startsWith('urn:uuid:'))
      resource['id'] = fullUrl.slice('urn:uuid:'.length);
    if (fullUrl.startsWith('urn:uuid:'))
      urns.set(fullUrl, `${String(resource['resourceType'])}/${String(resource['id'])}`);
    return resource;
  });
  return resources.map((resource) => rewriteReferences(resource, urns) as JsonObject);
}

function rewriteReferences(value: JsonValue, urns: ReadonlyMap<string, string>): JsonValue {
  if (Array.isArray(value)) return value.map((item) => rewriteReferences(item, urns));
  if (value === null || typeof value !== 'object') return value;
  const entries = Object.entries(value).map(([key, item]): [string, JsonValue] => {
    if (key === 'reference' && typeof item === 'string') return [key, urns.get(item) ?? item];
    return [key, rewriteReferences(item, urns)];
  });
  return Object.fromEntries(entries);
}

function patientIdOf(resource: JsonObject): string | null {
  if (resource['resourceType'] === 'Patient') return String(resource['id']);
  for (const element of ['subject', 'patient', 'beneficiary']) {
    const reference = (resource[element] as JsonObject | undefined)?.['reference'];
    if (typeof reference === 'string' && reference.startsWith('Patient/'))
      return reference.slice('Patient/'.length);
  }
  return null;
}
