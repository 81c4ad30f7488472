import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Keystore } from '../../storage/index.js';
import { AuthServer } from './auth-server.js';
import { FHIR_BASE, ISSUER } from '../testonly/auth-fixture.js';
import { TOKEN_KEY_ENTRY } from './token-key.js';

const SECRET = 'token-key-test-secret';
const FAST_SCRYPT = { N: 2 ** 10, r: 8, p: 1 };
const grant = {
  principal: { kind: 'practitioner', id: 'dr-a', org: 'practice-a' },
  scopes: [],
} as const;

test('the token key is sealed in the keystore, so a token issued before a restart verifies after it', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'chartchain-token-key-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'keystore.json');
  const before = await AuthServer.create({
    issuer: ISSUER,
    fhirBaseUrl: FHIR_BASE,
    keystore: Keystore.create(path, SECRET, { scrypt: FAST_SCRYPT }),
  });
  const token = await before.tokens.issue(grant);

  // A restart: the keystore is opened again from its file.
  const reopened = Keystore.open(path, SECRET);
  assert.deepEqual(reopened.names(), [TOKEN_KEY_ENTRY]);
  const after = await AuthServer.create({
    issuer: ISSUER,
    fhirBaseUrl: FHIR_BASE,
    keystore: reopened,
  });
  assert.equal(after.tokens.keyId, before.tokens.keyId);
  assert.deepEqual((await after.tokens.verify(token)).principal, grant.principal);
  assert.deepEqual(after.tokens.jwks(), before.tokens.jwks());
});
