import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey, sign, verify } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { ESLint } from 'eslint';
import { generatePemKeyPair, type GeneratedKeyType } from './key-generation.js';

const TYPES: GeneratedKeyType[] = ['ed25519', 'P-256', 'P-384'];

test('each generated key pair is a matching PKCS #8 / SPKI pair that signs and verifies', () => {
  for (const type of TYPES) {
    const { privateKeyPem, publicKeyPem } = generatePemKeyPair(type);
    assert.match(privateKeyPem, /^-----BEGIN PRIVATE KEY-----\n/);
    assert.match(publicKeyPem, /^-----BEGIN PUBLIC KEY-----\n/);
    const digest = type === 'ed25519' ? null : 'sha256';
    const signature = sign(digest, Buffer.from('chartchain'), createPrivateKey(privateKeyPem));
    assert.ok(
      verify(digest, Buffer.from('chartchain'), createPublicKey(publicKeyPem), signature),
      `${type} pair does not verify`,
    );
  }
});

test('two generated keys differ', () => {
  assert.notEqual(
    generatePemKeyPair('ed25519').privateKeyPem,
    generatePemKeyPair('ed25519').privateKeyPem,
  );
});

test('lint refuses key generation that returns KeyObjects anywhere else', async () => {
  const root = fileURLToPath(new URL('../..', import.meta.url));
  const eslint = new ESLint({ cwd: root });
  const rulesHit = async (code: string) => {
    const [result] = await eslint.lintText(code, { filePath: `${root}/src/api/lint-example.ts` });
    return (result?.messages ?? []).map((message) => message.ruleId);
  };
  assert.deepEqual(
    await rulesHit(
      "import { generateKeyPairSync } from 'node:crypto';\nexport const k = generateKeyPairSync;\n",
    ),
    ['no-restricted-imports'],
  );
  assert.deepEqual(
    await rulesHit("import { generateKeyPair } from 'jose';\nexport const k = generateKeyPair;\n"),
    ['no-restricted-imports'],
  );
  assert.deepEqual(
    await rulesHit(
      "import { createPrivateKey } from 'node:crypto';\nexport const k = createPrivateKey;\n",
    ),
    [],
  );
});
