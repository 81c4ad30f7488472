/** Codes the ledger and FHIR use, in words a patient understands. */

const PURPOSES: Record<string, string> = {
  TREAT: 'treatment',
  ETREAT: 'emergency treatment',
  BTG: 'break-the-glass emergency access',
  HPAYMT: 'payment',
  HOPERAT: 'running the organisation',
  HRESCH: 'research',
  PATRQT: 'your own request',
  PUBHLTH: 'public health',
};

export function purposeWords(code: string | null | undefined): string {
  if (code === null || code === undefined) return '—';
  return PURPOSES[code] ?? code;
}

const BASES: Record<string, string> = {
  consent: 'your consent',
  grant: 'your consent',
  directory: 'a directory entry of the organisation',
  agreement: 'your consent and a sharing agreement between organisations',
  'home-organisation': 'your care at your home practice',
  'break-the-glass': 'break-the-glass (emergency)',
  patient: 'you',
  self: 'you',
};

export function basisWords(basis: string | null | undefined): string {
  if (basis === null || basis === undefined) return '—';
  return BASES[basis] ?? basis;
}

const KINDS: Record<string, string> = {
  access: 'read',
  search: 'searched',
  grant: 'you granted access',
  'grant-update': 'you changed a grant',
  revoke: 'you revoked access',
  restriction: 'you restricted your home practice',
  'restriction-lift': 'you lifted a restriction',
  'break-the-glass': 'emergency access (break-the-glass)',
  'break-the-glass-review': 'emergency access reviewed',
  'break-the-glass-setting': 'you changed your emergency-access choice',
  'key-share': 'keys shared under your consent',
  erasure: 'record erased',
  write: 'record written',
};

export function kindWords(kind: string): string {
  return KINDS[kind] ?? kind;
}

const ROLES: Record<string, string> = {
  practitioner: 'clinician',
  patient: 'patient',
  auditor: 'privacy officer',
  system: 'organisation system',
  organisation: 'organisation',
};

export function roleWords(role: string | undefined): string {
  return role === undefined ? '—' : (ROLES[role] ?? role);
}

const DENIALS: Record<string, string> = {
  'denied:no-consent': 'there is no active consent covering this',
  'denied:no-grant': 'there is no active consent covering this',
  'denied:no-agreement': 'the organisations have no data-sharing agreement',
  'denied:restricted-by-patient': 'the patient restricted this',
  'denied:label-excluded': 'the record carries a sensitivity label the consent excludes',
  'denied:not-opted-in': 'the patient has not opted in to break-the-glass',
};

export function denialWords(reason: string | null | undefined): string {
  if (reason === null || reason === undefined) return '';
  return DENIALS[reason] ?? reason.replace(/^denied:/, '').replace(/-/g, ' ');
}

export function when(ms: number | string): string {
  return new Date(ms).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}
