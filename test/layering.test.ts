/**
 * Dependencies run one way only (STYLE.md, Layout): a module may import from its own layer or
 * a layer listed above it, and from another layer only through that layer's index.ts.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';

const LAYERS = [
  'crypto',
  'ledger',
  'contracts',
  'storage',
  'verifier',
  'consensus',
  'node',
  'fhir',
  'api',
  'cli',
];
/** Layers that must stay free of third-party packages: the deterministic core. */
const PURE_LAYERS = new Set(['crypto', 'ledger', 'contracts']);
const root = fileURLToPath(new URL('..', import.meta.url));

type SourceFiles = Map<string, string>;

function listSources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? listSources(path) : entry.name.endsWith('.ts') ? [path] : [];
  });
}

function importsOf(source: string): string[] {
  const pattern =
    /(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;
  return [...source.matchAll(pattern)].map((match) => match[1] ?? match[2]!);
}

/** Test helpers live in a layer's `testonly/` folder, apart from the code they test. */
function isTestHelper(path: string): boolean {
  return /^src\/[a-z]+\/testonly\//.test(path);
}

/** Tests and their helpers: they may import test helpers, across layers directly, and node:test. */
function isTestOnly(path: string): boolean {
  return path.endsWith('.test.ts') || isTestHelper(path);
}

/** Violations in `files` (path relative to the repo → text). */
function layeringViolations(files: SourceFiles): string[] {
  const violations: string[] = [];
  for (const [path, text] of files) {
    const layer = path.split('/')[1]!;
    const testOnly = isTestOnly(path);
    for (const specifier of importsOf(text)) {
      if (!specifier.startsWith('.')) {
        const thirdParty = !specifier.startsWith('node:');
        if (thirdParty && PURE_LAYERS.has(layer) && !testOnly)
          violations.push(`${path}: ${layer} imports package ${specifier}`);
        if (specifier === 'node:test' && !testOnly)
          violations.push(`${path}: production code imports node:test`);
        continue;
      }
      const target = relative(root, resolve(root, dirname(path), specifier)).replace(
        /\.js$/,
        '.ts',
      );
      const targetLayer = target.split('/')[1]!;
      if (!target.startsWith('src/')) continue;
      if (isTestHelper(target) && !testOnly)
        violations.push(`${path}: production code imports ${target}, a test helper`);
      if (targetLayer === layer) continue;
      if (LAYERS.indexOf(targetLayer) > LAYERS.indexOf(layer))
        violations.push(`${path}: ${layer} imports ${target}, a layer above it`);
      else if (target !== `src/${targetLayer}/index.ts` && !(testOnly && isTestHelper(target)))
        violations.push(`${path}: imports ${target}, not src/${targetLayer}/index.ts`);
    }
  }
  return violations;
}

test('every src folder is a known layer with an index.ts', () => {
  for (const entry of readdirSync(join(root, 'src'), { withFileTypes: true })) {
    assert.ok(entry.isDirectory() && LAYERS.includes(entry.name), `unexpected src/${entry.name}`);
    assert.ok(
      readdirSync(join(root, 'src', entry.name)).includes('index.ts'),
      `src/${entry.name} has no index.ts`,
    );
  }
});

test("no module imports from a layer above it, or past another layer's index.ts", () => {
  const files: SourceFiles = new Map(
    listSources(join(root, 'src')).map((path) => [
      relative(root, path),
      readFileSync(path, 'utf8'),
    ]),
  );
  assert.ok(files.size > 20);
  assert.deepEqual(layeringViolations(files), []);
});

/** The FHIR and HTTP layers see a node only through NodeFacade (src/node/node-facade.ts). */
function facadeViolations(files: SourceFiles): string[] {
  return [...files]
    .filter(
      ([path]) =>
        /^src\/(fhir|api)\//.test(path) &&
        !isTestOnly(path) &&
        /\bChartChainNode\b/.test(files.get(path)!),
    )
    .map(([path]) => `${path}: names ChartChainNode, not NodeFacade`);
}

test('the FHIR and HTTP layers use the node through its facade alone', () => {
  const files: SourceFiles = new Map(
    listSources(join(root, 'src')).map((path) => [
      relative(root, path),
      readFileSync(path, 'utf8'),
    ]),
  );
  assert.deepEqual(facadeViolations(files), []);
  const planted: SourceFiles = new Map([
    ['src/api/reach.ts', "import type { ChartChainNode } from '../node/index.js';"],
    ['src/api/fine.ts', "import type { NodeFacade } from '../node/index.js';"],
    ['src/api/fine.test.ts', "import { ChartChainNode } from '../node/index.js';"],
  ]);
  assert.deepEqual(facadeViolations(planted), [
    'src/api/reach.ts: names ChartChainNode, not NodeFacade',
  ]);
});

/**
 * Bounds (`*_MAX`) declared outside the limits registry. Allowed elsewhere: the crypto layer,
 * below the registry; the keystore file format's ranges, each beside its minimum; and the
 * highest instant a FHIR dateTime can write, which is a fact of the format, not a bound.
 */
function boundsOutsideRegistry(files: SourceFiles): string[] {
  const allowed = (path: string) =>
    path.startsWith('src/crypto/') ||
    path === 'src/storage/keystore.ts' ||
    path === 'src/fhir/search/date-range.ts';
  return [...files]
    .filter(([path]) => path !== 'src/ledger/limits.ts' && !isTestOnly(path) && !allowed(path))
    .flatMap(([path, text]) =>
      [...text.matchAll(/\bconst ([A-Z0-9_]+_MAX)\b\s*[:=]/g)].map(
        (match) => `${path}: ${match[1]} belongs in src/ledger/limits.ts`,
      ),
    );
}

test('every bound is declared in the limits registry', () => {
  const files: SourceFiles = new Map(
    listSources(join(root, 'src')).map((path) => [
      relative(root, path),
      readFileSync(path, 'utf8'),
    ]),
  );
  assert.deepEqual(boundsOutsideRegistry(files), []);
  const planted: SourceFiles = new Map([
    ['src/api/stray.ts', 'const PAGE_MAX = 10;'],
    ['src/ledger/limits.ts', 'export const PAGE_MAX = 10;'],
    ['src/crypto/hash.ts', 'const DEPTH_MAX = 3;'],
  ]);
  assert.deepEqual(boundsOutsideRegistry(planted), [
    'src/api/stray.ts: PAGE_MAX belongs in src/ledger/limits.ts',
  ]);
});

test('the check catches a wrong arrow, a deep import and a package in the core', () => {
  const files: SourceFiles = new Map([
    ['src/ledger/bad.ts', "import { ChainStore } from '../storage/index.js';"],
    ['src/node/deep.ts', "import { sha256 } from '../crypto/sha256.js';"],
    ['src/contracts/pkg.ts', "import Database from 'better-sqlite3';"],
    [
      'src/api/fine.ts',
      "import { ChartChainNode } from '../node/index.js';\nimport Fastify from 'fastify';",
    ],
    [
      'src/fhir/fine.ts',
      "import { ID_PATTERN } from '../contracts/index.js';\nimport type { ChartChainNode } from '../node/index.js';",
    ],
    ['src/fhir/deep.ts', "import type { GrantRow } from '../contracts/consent/tables.js';"],
    ['src/fhir/up.ts', "import { buildServer } from '../api/index.js';"],
    ['src/api/uses-fixture.ts', "import { servedNode } from './testonly/served-node-fixture.js';"],
    ['src/consensus/suite.ts', "import { test } from 'node:test';"],
    [
      'src/api/fine.test.ts',
      "import { accessFixture } from '../node/testonly/access-fixture.js';\nimport { test } from 'node:test';",
    ],
    [
      'src/api/testonly/fine.ts',
      "import { accessFixture } from '../../node/testonly/access-fixture.js';",
    ],
  ]);
  const violations = layeringViolations(files);
  assert.equal(violations.length, 7, violations.join('\n'));
  assert.match(violations[0]!, /a layer above it/);
  assert.match(violations[1]!, /not src\/crypto\/index.ts/);
  assert.match(violations[2]!, /imports package better-sqlite3/);
  assert.match(
    violations[3]!,
    /src\/fhir\/deep.ts: imports src\/contracts\/consent\/tables.ts, not src\/contracts\/index.ts/,
  );
  assert.match(
    violations[4]!,
    /src\/fhir\/up.ts: fhir imports src\/api\/index.ts, a layer above it/,
  );
  assert.match(
    violations[5]!,
    /src\/api\/uses-fixture.ts: production code imports src\/api\/testonly\/served-node-fixture.ts, a test helper/,
  );
  assert.match(violations[6]!, /src\/consensus\/suite.ts: production code imports node:test/);
});
