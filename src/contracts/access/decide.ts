/**
 * The access decision (DESIGN.md, Read path): from contract state alone, whether a principal
 * may read or write one version of a record, and on what basis. The node runs it before
 * releasing plaintext; the access contract runs it again when the access transaction lands,
 * so the ledger records the decision every node agrees on.
 */
import { coveringAgreement } from '../agreements/index.js';
import type { AccessBasis } from '../audit/index.js';
import {
  coveringGrant,
  HOME_ORGANISATION_PURPOSES,
  restrictionCovering,
  type ConsentAction,
} from '../consent/index.js';
import { consentModelOf, ORGS, PATIENTS, PRACTITIONERS } from '../membership/index.js';
import {
  RECORDS,
  VERSIONS,
  versionKey,
  type RecordRow,
  type VersionRow,
} from '../records/index.js';
import type { StateReader } from '../state.js';
import { BREAK_THE_GLASS_ACTIVE, BREAK_THE_GLASS, type Principal } from './tables.js';

/** One access to decide. */
export interface AccessRequest {
  readonly principal: Principal;
  readonly action: ConsentAction;
  readonly recordId: string;
  readonly version: number;
  readonly purpose: string;
  readonly time: number;
}

/** Permit with its basis, or deny with a status-style reason. */
export type AccessDecision =
  | { readonly outcome: 'permit'; readonly basis: AccessBasis }
  | { readonly outcome: 'deny'; readonly reason: string };

/** Decides `request` against `state`. */
export function decideAccess(state: StateReader, request: AccessRequest): AccessDecision {
  const record = RECORDS.get(state, request.recordId);
  if (record === undefined) return deny('denied:no-such-record');
  if (record.status === 'erased') return deny('denied:record-erased');
  if (
    !Number.isSafeInteger(request.version) ||
    request.version < 1 ||
    request.version > record.latestVersion
  )
    return deny('denied:no-such-version');
  const version = VERSIONS.get(state, versionKey(request.recordId, request.version));
  if (version === undefined) return deny('denied:no-such-version');
  const { principal } = request;
  if (record.patientId === null) return directoryDecision(state, principal, record);
  if (principal.kind === 'patient')
    return principal.id === record.patientId ? permit('patient') : deny('denied:not-your-record');
  if (principal.kind === 'auditor') return deny('denied:auditor-reads-no-content');
  const actorRefusal = actorFailure(state, principal);
  if (actorRefusal !== undefined) return deny(actorRefusal);
  return consentDecision(state, request, { ...record, patientId: record.patientId }, version);
}

/**
 * The directory types an organisation's patients and auditors read too: who and where the
 * organisation is and what it prescribes. Any other (a Group, which lists patients; a type added
 * later) is for its practitioners and system clients only: a new type is closed until listed.
 */
export const SHARED_DIRECTORY_TYPES: readonly string[] = [
  'Endpoint',
  'HealthcareService',
  'Location',
  'Medication',
  'Organization',
  'Practitioner',
  'PractitionerRole',
  'Substance',
];

/**
 * A directory record (no one patient's data) is read by anyone its own organisation
 * authenticated who may act at all, within SHARED_DIRECTORY_TYPES for patients and auditors.
 */
function directoryDecision(
  state: StateReader,
  principal: Principal,
  record: RecordRow,
): AccessDecision {
  if (principal.org !== record.org) return deny('denied:not-shared');
  if (!SHARED_DIRECTORY_TYPES.includes(record.resourceType)) {
    if (principal.kind === 'patient') return deny('denied:not-your-record');
    if (principal.kind === 'auditor') return deny('denied:auditor-reads-no-content');
  }
  const refusal =
    principal.kind === 'practitioner' || principal.kind === 'system'
      ? actorFailure(state, principal)
      : undefined;
  return refusal === undefined ? permit('directory') : deny(refusal);
}

/**
 * At the patient's home organisation an active restriction of theirs denies whatever it covers,
 * grant or not; what it leaves is read without a grant for treatment, payment and operations in
 * an opt-out network. Anything else needs a grant (and, across organisations, an agreement).
 */
function consentDecision(
  state: StateReader,
  request: AccessRequest,
  record: RecordRow & { patientId: string },
  version: VersionRow,
): AccessDecision {
  const { principal } = request;
  const labels = version.securityLabels.map((label) => label.code);
  const practitionerId = principal.kind === 'practitioner' ? principal.id : null;
  const query = {
    ...request,
    patientId: record.patientId,
    practitionerId,
    orgId: principal.org,
    resourceType: record.resourceType,
    labels,
  };
  if (principal.org === PATIENTS.get(state, record.patientId)?.homeOrg) {
    if (restrictionCovering(state, query) !== undefined)
      return (
        breakTheGlass(state, record.patientId, principal, request.time) ??
        deny('denied:restricted-by-patient')
      );
    if (consentModelOf(state) === 'opt-out' && HOME_ORGANISATION_PURPOSES.includes(request.purpose))
      return permit('home-organisation');
  }
  const grant = coveringGrant(state, query);
  if ('reason' in grant)
    return breakTheGlass(state, record.patientId, principal, request.time) ?? deny(grant.reason);
  if (principal.org === record.org) return permit('consent', { grantId: grant.grantId });
  const agreement = coveringAgreement(state, {
    discloser: record.org,
    recipient: principal.org,
    resourceType: record.resourceType,
    labels,
    purpose: request.purpose,
    time: request.time,
  });
  if ('reason' in agreement)
    return (
      breakTheGlass(state, record.patientId, principal, request.time) ?? deny(agreement.reason)
    );
  return permit('consent', { grantId: grant.grantId, agreementId: agreement.agreementId });
}

/** Why a practitioner or system client may not act at all, or undefined when they may. */
function actorFailure(state: StateReader, principal: Principal): string | undefined {
  const org = ORGS.get(state, principal.org);
  if (org?.status !== 'active') return 'denied:organisation-inactive';
  if (principal.kind === 'system')
    return principal.id === principal.org ? undefined : 'denied:unknown-principal';
  const practitioner = PRACTITIONERS.get(state, principal.id);
  if (practitioner === undefined || practitioner.org !== principal.org)
    return 'denied:unknown-principal';
  return practitioner.status === 'active' ? undefined : 'denied:practitioner-suspended';
}

/** A permit on the basis of this practitioner's break-the-glass window for the patient, if one is open at `time`. */
function breakTheGlass(
  state: StateReader,
  patientId: string,
  principal: Principal,
  time: number,
): AccessDecision | undefined {
  if (principal.kind !== 'practitioner') return undefined;
  const practitionerId = principal.id;
  const active = BREAK_THE_GLASS_ACTIVE.get(state, `${patientId}|${practitionerId}`);
  const row = active === undefined ? undefined : BREAK_THE_GLASS.get(state, active.btgId);
  // A window opened by another organisation's node is not this reader's, whatever it names.
  if (
    row === undefined ||
    row.outcome !== 'permit' ||
    row.org !== principal.org ||
    time < row.start ||
    time >= row.end
  )
    return undefined;
  return permit('break-the-glass', { breakTheGlassId: row.btgId });
}

function permit(
  kind: AccessBasis['kind'],
  ids: Partial<Pick<AccessBasis, 'grantId' | 'agreementId' | 'breakTheGlassId'>> = {},
): AccessDecision {
  return {
    outcome: 'permit',
    basis: {
      kind,
      grantId: ids.grantId ?? null,
      agreementId: ids.agreementId ?? null,
      breakTheGlassId: ids.breakTheGlassId ?? null,
    },
  };
}

function deny(reason: string): AccessDecision {
  return { outcome: 'deny', reason };
}
