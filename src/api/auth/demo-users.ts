/**
 * Demo users for a single-organisation sandbox: one practitioner, one patient and one auditor,
 * all with the password `chartchain-demo`. Never load them on a node that holds real records.
 */
import { ROLE_PROFILES, type FhirRole } from './account-roles.js';
import { parseScopes } from './scopes.js';
import {
  hashPassword,
  InMemoryUserDirectory,
  signedIn,
  type Credentials,
  type SignIn,
  type UserDirectory,
  type UserRecord,
} from './users.js';
import type { PatientNames } from '../../node/index.js';

/** The demo users' shared password. */
export const DEMO_PASSWORD = 'chartchain-demo';

/** Who the demo users are (the patient by FHIR Patient id); the organisation is filled in by createDemoUsers. */
export const DEMO_USERS = [
  { username: 'dr-ada', kind: 'practitioner', id: 'dr-ada' },
  { username: 'patient-0001', kind: 'patient', id: 'patient-0001' },
  { username: 'auditor-ann', kind: 'auditor', id: 'auditor-ann' },
] as const satisfies readonly DemoUser[];

/** The demo users of organisation `org`, with freshly salted password hashes; the patient acts under their pseudonym in `patients`. */
export async function createDemoUsers(
  org: string,
  patients?: PatientNames,
): Promise<UserDirectory> {
  return directoryOf(org, DEMO_USERS, patients);
}

/**
 * The demo users of one organisation of a local demo network, all with the demo password: its
 * practitioner and its privacy officer (`auditor-ann` at the practice, `auditor-<org>`
 * elsewhere, who reviews that organisation's break-the-glass), and at the practice
 * (`withPatient`) also the demo patient.
 */
export async function createNetworkDemoUsers(
  org: string,
  practitionerId: string,
  withPatient: boolean,
  patients?: PatientNames,
): Promise<UserDirectory> {
  const [practitioner, patient, auditor] = DEMO_USERS;
  const practitionerUser = { ...practitioner, username: practitionerId, id: practitionerId };
  const orgAuditor = { ...auditor, username: `auditor-${org}`, id: `auditor-${org}` };
  return directoryOf(
    org,
    withPatient ? [practitionerUser, patient, auditor] : [practitionerUser, orgAuditor],
    patients,
  );
}

/** A demo user is an account in a role without its password: every demo user has the demo password. */
type DemoUser = { readonly username: string; readonly kind: FhirRole; readonly id: string };

async function directoryOf(
  org: string,
  users: readonly DemoUser[],
  patients: PatientNames | undefined,
): Promise<UserDirectory> {
  const records = await Promise.all(
    users.map(async (demo): Promise<UserRecord> => ({
      username: demo.username,
      principal: { kind: demo.kind, id: demo.id, org },
      fhirUser: `${ROLE_PROFILES[demo.kind].fhirType}/${demo.id}`,
      scopes: parseScopes(ROLE_PROFILES[demo.kind].scope),
      passwordHash: await hashPassword(DEMO_PASSWORD),
    })),
  );
  const directory = new InMemoryUserDirectory(records);
  return {
    async signIn(credentials: Credentials): Promise<SignIn> {
      const result = await directory.signIn(credentials);
      return 'user' in result ? { user: signedIn(result.user, patients) } : result;
    },
  };
}
