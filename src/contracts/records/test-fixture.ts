/**
 * Test support for the contract tests (not part of the public API): the shared test chain with
 * record lookups, key holders with seeded keys, a founded world, and body builders.
 */
import assert from 'node:assert/strict';
import {
  sha256,
  sha256Hex,
  signingKeyFromSeed,
  toHex,
  x25519FromPrivate,
  type X25519KeyPair,
} from '../../crypto/index.js';
import { signTransaction, type JsonObject, type Transaction } from '../../ledger/index.js';
import { TestChain as BaseTestChain } from '../test-chain.js';
import { RECORDS, VERSIONS, versionKey, type RecordRow, type VersionRow } from './tables.js';

export { idOf, T0 } from '../test-chain.js';

/** A key holder with an Ed25519 signing key and an X25519 encryption key, both seeded by its id. */
export class Actor {
  readonly key;
  readonly encryption: X25519KeyPair;
  nonce = 0;
  constructor(readonly id: string) {
    this.key = signingKeyFromSeed(sha256(`seed:${id}`));
    this.encryption = x25519FromPrivate(sha256(`encryption:${id}`));
  }
  get publicKey(): string {
    return toHex(this.key.publicKey);
  }
  get encryptionKey(): string {
    return toHex(this.encryption.publicKey);
  }
  tx(type: string, body: JsonObject, nonce = (this.nonce += 1)): Transaction {
    return signTransaction({ type, nonce, body }, this.key);
  }
}

/** The shared test chain, with record lookups. */
export class TestChain extends BaseTestChain {
  record(recordId: string): RecordRow | undefined {
    return RECORDS.get(this, recordId);
  }

  version(recordId: string, version: number): VersionRow | undefined {
    return VERSIONS.get(this, versionKey(recordId, version));
  }
}

/** The chain `world()` builds and everyone registered on it. */
export interface World {
  chain: TestChain;
  /** Founders. org-a is the patients' home organisation. */
  orgA: Actor;
  orgB: Actor;
  orgC: Actor;
  /** Practitioners of org-a (two) and org-b. */
  drA: Actor;
  drA2: Actor;
  drB: Actor;
  /** Patients of org-a. */
  patient: Actor;
  otherPatient: Actor;
}

const enrol = (idName: string, person: Actor, extra: JsonObject = {}): JsonObject => ({
  [idName]: person.id,
  signingKey: person.publicKey,
  encryptionKey: person.encryptionKey,
  ...extra,
});

/** The grant world() has patient-1 give org B: write, no read, so it adds no envelope. */
export const WRITE_GRANT_TO_ORG_B = {
  grantId: 'grant-write-org-b',
  grantee: { kind: 'organisation', id: 'org-b' },
  actions: ['write'],
  resourceTypes: [],
  recordIds: [],
  excludeLabels: [],
  purposes: ['TREAT'],
  period: { start: 0, end: null },
};

/**
 * A chain with three founding organisations, their practitioners and two patients of org-a.
 * Its genesis names no consent model (as chains made before the setting), so it is opt-in
 * unless `options.consentModel` says otherwise.
 */
export function world(options: { consentModel?: 'opt-in' | 'opt-out' } = {}): World {
  const [orgA, orgB, orgC, drA, drA2, drB, patient, otherPatient] = [
    'org-a',
    'org-b',
    'org-c',
    'dr-a',
    'dr-a2',
    'dr-b',
    'patient-1',
    'patient-2',
  ].map((id) => new Actor(id)) as [Actor, Actor, Actor, Actor, Actor, Actor, Actor, Actor];
  const chain = new TestChain();
  const orgs = [orgA, orgB, orgC].map((org) => ({
    orgId: org.id,
    name: `Org ${org.id}`,
    signingKey: org.publicKey,
    encryptionKey: org.encryptionKey,
  }));
  const model: JsonObject =
    options.consentModel === undefined ? {} : { consentModel: options.consentModel };
  assert.deepEqual(chain.run(orgA.tx('membership.genesis', { network: 'test', orgs, ...model })), [
    'ok',
  ]);
  const statuses = chain.run(
    orgA.tx('membership.register-practitioner', enrol('practitionerId', drA)),
    orgA.tx('membership.register-practitioner', enrol('practitionerId', drA2)),
    orgB.tx('membership.register-practitioner', enrol('practitionerId', drB)),
    orgA.tx('membership.register-patient', enrol('patientId', patient, { custody: 'self' })),
    orgA.tx(
      'membership.register-patient',
      enrol('patientId', otherPatient, { custody: 'custodial' }),
    ),
  );
  assert.deepEqual(statuses, ['ok', 'ok', 'ok', 'ok', 'ok']);
  // Org B's practitioners write patient-1's chart under this grant; nobody outside org A may write patient-2's.
  assert.deepEqual(chain.run(patient.tx('consent.grant', WRITE_GRANT_TO_ORG_B)), ['ok']);
  return { chain, orgA, orgB, orgC, drA, drA2, drB, patient, otherPatient };
}

/** A well-formed envelope for `recipient` (an Actor or raw key hex); its bytes are placeholders. */
export function envelope(recipient: Actor | string): JsonObject {
  const key = typeof recipient === 'string' ? recipient : recipient.encryptionKey;
  return { recipient: key, enc: sha256Hex(`enc:${key}`), wrappedKey: 'ab'.repeat(48) };
}

/** The content fields of version `version` of `recordId`, wrapped for `recipients`. */
export function content(
  recordId: string,
  version: number,
  recipients: readonly (Actor | string)[],
): JsonObject {
  return {
    ciphertextHash: sha256Hex(`ciphertext:${recordId}/${version}`),
    ciphertextSize: 1234,
    commitment: sha256Hex(`commitment:${recordId}/${version}`),
    securityLabels: [
      { system: 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality', code: 'N' },
    ],
    envelopes: recipients.map(envelope),
  };
}

/** An anchor body for `recordId` about `patient`, wrapped for `recipients`. */
export function anchorBody(
  recordId: string,
  patient: Actor,
  recipients: readonly (Actor | string)[],
  extra: JsonObject = {},
): JsonObject {
  return {
    recordId,
    patientId: patient.id,
    resourceType: 'Observation',
    version: 1,
    ...content(recordId, 1, recipients),
    ...extra,
  };
}

/** A supersede body creating `version` of `recordId`, wrapped for `recipients`. */
export function supersedeBody(
  recordId: string,
  version: number,
  recipients: readonly (Actor | string)[],
  extra: JsonObject = {},
): JsonObject {
  return { recordId, version, ...content(recordId, version, recipients), ...extra };
}
