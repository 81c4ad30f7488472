import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { ESLint } from 'eslint';

const root = fileURLToPath(new URL('../..', import.meta.url));
const eslint = new ESLint({ cwd: root });

async function errorsIn(code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, {
    filePath: `${root}/src/contracts/lint-example.ts`,
  });
  return (result?.messages ?? [])
    .filter((message) => message.severity === 2)
    .map((message) => message.ruleId ?? 'parse');
}

// Each snippet does one thing STYLE.md bans inside contracts; each must be flagged.
const BANNED: [string, string][] = [
  ['Date', 'export const now = Date.now();'],
  ['new Date', 'export const now = new Date();'],
  ['Math.random', 'export const r = Math.random();'],
  ['crypto.randomUUID', 'export const id = crypto.randomUUID();'],
  ['timers', 'setTimeout(() => {}, 1);'],
  ['async', 'export async function run(): Promise<void> {}'],
  ['await', 'export const f = async () => { await 1; };'],
  ['I/O import', "import { readFileSync } from 'node:fs'; export const x = readFileSync;"],
  ['floating point', 'export const share = 0.5;'],
  ['Intl', "export const collator = new Intl.Collator('en');"],
  ['localeCompare', "export const order = 'a'.localeCompare('b');"],
  [
    'for…in',
    'export function keys(o: Record<string, number>) { const k = []; for (const key in o) k.push(key); return k; }',
  ],
  ['Object.entries', 'export const e = (o: object) => Object.entries(o);'],
  ['process', 'export const env = process.env;'],
];

test('the contracts lint flags every banned construct', async () => {
  for (const [what, code] of BANNED) {
    assert.ok((await errorsIn(code)).length > 0, `${what} was not flagged`);
  }
});

test('deterministic code passes the contracts lint', async () => {
  assert.deepEqual(
    await errorsIn(
      'export const sorted = (keys: string[]) => [...keys].sort();\nexport const half = (n: number) => Math.floor(n / 2);\n',
    ),
    [],
  );
});

test('src/contracts itself passes the contracts lint', async () => {
  const results = await eslint.lintFiles([`${root}/src/contracts`]);
  const problems = results.flatMap((result) =>
    result.messages.map((message) => `${result.filePath}:${message.line} ${message.message}`),
  );
  assert.deepEqual(problems, []);
});

// The type-aware rules of every layer, checked the same way.
const UNSAFE: [string, string, string][] = [
  [
    'a floating promise',
    'export function f(p: Promise<void>): void { p; }',
    '@typescript-eslint/no-floating-promises',
  ],
  [
    'throwing a string',
    "export function f(): never { throw 'no'; }",
    '@typescript-eslint/only-throw-error',
  ],
  [
    'a switch missing a member',
    "export function f(s: 'a' | 'b'): number { switch (s) { case 'a': return 1; } return 0; }",
    '@typescript-eslint/switch-exhaustiveness-check',
  ],
];

test('the type-aware rules flag a floating promise, a thrown non-error and a non-exhaustive switch', async () => {
  for (const [what, code, rule] of UNSAFE) {
    assert.ok((await errorsIn(code)).includes(rule), `${what} was not flagged by ${rule}`);
  }
});
