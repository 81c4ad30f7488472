/**
 * The demo consortium of a local network (`chartchain network up`), where each organisation's
 * node holds only its own keys and so seeds only its own part:
 * - the practice registers dr-ada and patient-0001 with a few Observations; the patient consents
 *   to the practice and to every other member for treatment; the practice proposes a
 *   data-sharing agreement to each other member;
 * - every other member registers its practitioner (the hospital dr-grey, the lab dr-lin) and
 *   countersigns the practice's agreement once the proposal reaches it through the chain.
 * Each part runs once: a node whose keystore holds its practitioner's key has seeded.
 */
import {
  AGREEMENTS,
  AGREEMENTS_COUNTERSIGN,
  AGREEMENTS_PROPOSE,
  MEMBERSHIP_REGISTER_PRACTITIONER,
  ORG_TABLE,
  ORGS,
  type Principal,
} from '../contracts/index.js';
import { FhirService } from '../fhir/index.js';
import type { ChartChainNode } from '../node/index.js';
import { committed, grant, PATIENT_ID, practiceTerms, seedPatient } from './demo-seed.js';

/** The organisation that holds the demo patient. */
export const DEMO_PRACTICE = 'demo-practice';
/** Each demo organisation's practitioner; any other member gets `dr-<orgId>`. */
const PRACTITIONERS: Readonly<Record<string, string>> = {
  'demo-practice': 'dr-ada',
  'demo-hospital': 'dr-grey',
  'demo-lab': 'dr-lin',
};
const AGREEMENT_WAIT_MS = 120_000;

/** The practitioner id this organisation's demo registers. */
export function demoPractitionerOf(orgId: string): string {
  return PRACTITIONERS[orgId] ?? `dr-${orgId}`.slice(0, 64);
}

/** The agreement under which the practice discloses to `recipient`. */
export const demoAgreementId = (recipient: string): string =>
  `demo-dsa-${DEMO_PRACTICE}-${recipient}`;

/**
 * Seeds this node's part unless it already has; resolves true when it seeded. The
 * countersignature waits on the practice's node, so it goes on in the background once this
 * node's own part is written; `onLate` hears how it ended.
 */
export async function seedNetworkDemo(
  node: ChartChainNode,
  onLate: (error?: Error) => void = () => undefined,
): Promise<boolean> {
  const practitionerId = demoPractitionerOf(node.config.orgId);
  if (node.records.keystore.has(`practitioner:${practitionerId}:signing`)) return false;
  const keys = node.records.enrol('practitioner', practitionerId);
  await committed(
    node,
    node.signAsOrg(MEMBERSHIP_REGISTER_PRACTITIONER, { practitionerId, ...keys }),
  );
  if (node.config.orgId === DEMO_PRACTICE) await seedPractice(node, practitionerId);
  else void countersign(node, demoAgreementId(node.config.orgId)).then(() => onLate(), onLate);
  return true;
}

async function seedPractice(node: ChartChainNode, practitionerId: string): Promise<void> {
  const service = new FhirService(node);
  try {
    const doctor: Principal = { kind: 'practitioner', id: practitionerId, org: node.config.orgId };
    await seedPatient(node, service, doctor);
  } finally {
    await service.close();
  }
  const others = node.store
    .stateKeys(ORG_TABLE)
    .filter(
      (orgId) =>
        orgId !== node.config.orgId && ORGS.get(node.store.state, orgId)?.status === 'active',
    );
  for (const recipient of others) {
    const terms = {
      resourceTypes: [],
      excludeLabels: ['PSY', '42CFRPart2'],
      purposes: ['TREAT', 'ETREAT'],
      period: { start: 0, end: null },
      redisclosure: false,
    };
    await committed(
      node,
      node.signAsOrg(AGREEMENTS_PROPOSE, {
        agreementId: demoAgreementId(recipient),
        discloser: node.config.orgId,
        recipient,
        terms,
      }),
    );
    await grant(node, PATIENT_ID, `demo-consent-${recipient}`, {
      ...practiceTerms(recipient),
      actions: ['read'],
      purposes: ['TREAT'],
      excludeLabels: ['PSY', '42CFRPart2'],
    });
  }
}

/** Waits for the practice's proposal to commit on this node's copy of the chain, then countersigns it. */
async function countersign(node: ChartChainNode, agreementId: string): Promise<void> {
  const deadline = Date.now() + AGREEMENT_WAIT_MS;
  while (AGREEMENTS.get(node.store.state, agreementId)?.status !== 'proposed') {
    if (Date.now() > deadline)
      throw new Error(
        `the demo agreement ${agreementId} was not proposed within ${AGREEMENT_WAIT_MS / 1000} s`,
      );
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  await committed(node, node.signAsOrg(AGREEMENTS_COUNTERSIGN, { agreementId }));
}
