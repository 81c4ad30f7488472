/**
 * Why the ledger refused or denied a break-the-glass request or review, in words a clinician or
 * privacy officer reads on screen; the ledger's own code follows in parentheses.
 */

const WORDS: Readonly<Record<string, string>> = {
  'denied:patient-opted-out': 'the patient has not opted in to break-the-glass',
  'denied:purpose-not-break-the-glass': 'break-the-glass is only for purpose ETREAT or BTG',
  'denied:not-a-practitioner': 'only a practitioner may break the glass',
  'denied:unknown-principal': 'you are not registered on the ledger as a practitioner of this organisation',
  'denied:practitioner-suspended': 'your practitioner registration on the ledger is suspended',
  'denied:no-such-patient': 'the ledger knows no such patient',
  'denied:signer-inactive': 'this organisation is not an active member of the network',
  'denied:no-such-break-the-glass': 'no granted break-the-glass event of this organisation has that id',
  'denied:already-reviewed': 'the event has already been reviewed',
  'invalid:bad-body': 'the request was malformed',
  'invalid:note-recipients': 'the text could not be sealed to the patient and this organisation',
};

/** `status` (a contract refusal or denial, e.g. `denied:patient-opted-out`) in plain words. */
export function refusalWords(status: string): string {
  return `${Object.hasOwn(WORDS, status) ? WORDS[status] : 'the ledger refused it'} (${status})`;
}
