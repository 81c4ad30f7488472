/**
 * A token whose session cannot be told yet (a patient's account, while FHIR ids are relearnt
 * after a crash) is answered 503 with Retry-After at both bearer edges: never a 401, which would
 * sign the patient out, and never let through unchecked.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { FhirError } from '../fhir/index.js';
import { ApiError } from './api-error.js';
import { AuthServer, OAuthError, parseScopes, type UserDirectory } from './auth/index.js';
import { ledgerGrant } from './ledger-auth.js';
import { smartFhirAuth } from './smart-fhir-auth.js';

const relearning: UserDirectory = {
  signIn: () => Promise.resolve({ refused: 'credentials' }),
  sessionActive: () => {
    throw new OAuthError('temporarily_unavailable', 'relearning patient ids', 503, 5);
  },
};

async function patientRequest(auth: AuthServer): Promise<FastifyRequest> {
  const token = await auth.tokens.issue({
    principal: { kind: 'patient', id: 'p-1', org: 'practice-a' },
    scopes: parseScopes('patient/*.rs'),
  });
  return { headers: { authorization: `Bearer ${token}` } } as FastifyRequest;
}

test('a session that cannot be told yet is a 503 with Retry-After on /fhir and /ledger, not a 401', async (t) => {
  const auth = await AuthServer.create({
    issuer: 'http://127.0.0.1',
    fhirBaseUrl: 'http://127.0.0.1/fhir',
    users: relearning,
  });
  t.after(() => auth.close());
  const request = await patientRequest(auth);

  await assert.rejects(
    smartFhirAuth(auth).authenticate(request),
    (error: unknown) =>
      error instanceof FhirError &&
      error.status === 503 &&
      error.issues[0]?.code === 'transient' &&
      error.headers['Retry-After'] === '5',
  );

  const headers: Record<string, string> = {};
  const reply = {
    header: (name: string, value: string) => ((headers[name] = value), reply),
  } as unknown as FastifyReply;
  await assert.rejects(
    ledgerGrant(auth, request, reply),
    (error: unknown) => error instanceof ApiError && error.statusCode === 503,
  );
  assert.equal(headers['retry-after'], '5');
  assert.equal(headers['www-authenticate'], undefined, 'no challenge: the token is not refused');
});
