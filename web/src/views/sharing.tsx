/**
 * Sharing: the patient's grants in plain words, a wizard that shows exactly who will read what
 * before it is signed, revocation (with what revoking cannot do), and the break-the-glass choice.
 */
import { useState } from 'react';
import { call, fhirBody, publicCall } from '../node-api.js';
import { searchAll, SENSITIVITY_LABELS } from '../fhir.js';
import {
  consentOf,
  grantOf,
  grantSentence,
  GRANTABLE_TYPES,
  type Grant,
  type GrantTerms,
} from '../consent.js';
import { useDraft, useLoaded } from '../hooks.js';
import { purposeWords } from '../plain-words.js';
import { Done, Explain, Problem, Show } from '../components/feedback.js';
import { Confirm } from '../components/confirm.js';

const labelWords = (code: string) =>
  SENSITIVITY_LABELS.find(([label]) => label === code)?.[1] ?? code;
const PURPOSE_CHOICES = ['TREAT', 'HPAYMT', 'HRESCH'];

export function Sharing({ patientId }: { patientId: string }) {
  const grants = useLoaded(
    async () => (await searchAll('Consent', { patient: patientId })).map(grantOf),
    [patientId],
  );
  const [revoking, setRevoking] = useState<Grant | undefined>();
  const [error, setError] = useState<Error | undefined>();
  const [done, setDone] = useState('');
  const revoke = async (grant: Grant) => {
    setRevoking(undefined);
    try {
      await call(`/fhir/Consent/${encodeURIComponent(grant.id)}`, { method: 'DELETE' });
      setDone(`Revoked: ${grant.grantee} can no longer read your records from now on.`);
      grants.reload();
    } catch (failure) {
      setError(failure as Error);
    }
  };
  return (
    <>
      <h1>Sharing</h1>
      <Problem error={error} />
      {done !== '' && <Done>{done}</Done>}
      <section aria-labelledby="h-grants">
        <h2 id="h-grants">Who can read your records</h2>
        <Show loaded={grants} what="your grants">
          {(list) => (
            <ul className="grants">
              {list
                .filter((g) => g.active)
                .map((grant) => (
                  <li key={grant.id}>
                    {grant.restriction ? (
                      <p>
                        You withheld{' '}
                        {grant.resourceTypes.length === 0
                          ? 'records'
                          : grant.resourceTypes.join(', ')}
                        {grant.excludeLabels.length === 0
                          ? ''
                          : ` marked ${grant.excludeLabels.map(labelWords).join(' or ')}`}{' '}
                        from your home practice.
                      </p>
                    ) : (
                      <p>{grantSentence(grant, labelWords, purposeWords)}</p>
                    )}
                    {!grant.restriction && (
                      <button type="button" onClick={() => setRevoking(grant)}>
                        Revoke access for {grant.grantee}
                      </button>
                    )}
                  </li>
                ))}
              {list.every((g) => !g.active) && (
                <li className="muted">You have not shared your records with anyone.</li>
              )}
            </ul>
          )}
        </Show>
      </section>
      <Confirm
        open={revoking !== undefined}
        title="Revoke this access?"
        confirmLabel="Revoke"
        onCancel={() => setRevoking(undefined)}
        onConfirm={() => revoking && void revoke(revoking)}
      >
        <p>
          {revoking?.grantee} will not be able to read your records from the next block on, in a
          second or two.
        </p>
        <p>
          <strong>Revoking cannot un-read.</strong> What was already read, and any copy made then,
          stays with them; the ledger keeps the record of those reads.
        </p>
      </Confirm>
      <GrantWizard
        patientId={patientId}
        onGranted={(sentence) => {
          setDone(`Granted. ${sentence}`);
          grants.reload();
        }}
      />
      <BreakTheGlassChoice patientId={patientId} />
    </>
  );
}

const EMPTY: GrantTerms & { step: number } = {
  step: 1,
  grantee: '',
  resourceTypes: [],
  excludeLabels: ['PSY', '42CFRPart2'],
  purposes: ['TREAT'],
  start: '',
  end: '',
};

function GrantWizard({
  patientId,
  onGranted,
}: {
  patientId: string;
  onGranted(sentence: string): void;
}) {
  const [draft, setDraft, clear] = useDraft('grant', EMPTY);
  const [error, setError] = useState<Error | undefined>();
  const members = useLoaded(
    async () =>
      Object.keys(
        (await publicCall<{ peers?: Record<string, unknown> }>('/ledger/status')).peers ?? {},
      ),
    [],
  );
  const toggle = (field: 'resourceTypes' | 'excludeLabels' | 'purposes', code: string) =>
    setDraft({
      ...draft,
      [field]: draft[field].includes(code)
        ? draft[field].filter((c) => c !== code)
        : [...draft[field], code],
    });
  const validGrantee = /^(Practitioner|Organization)\/[A-Za-z0-9\-.]{1,64}$/.test(draft.grantee);
  const sign = async () => {
    setError(undefined);
    try {
      await call('/fhir/Consent', fhirBody('POST', consentOf(patientId, draft)));
      const sentence = grantSentence(draft, labelWords, purposeWords);
      clear();
      onGranted(sentence);
    } catch (failure) {
      setError(failure as Error);
    }
  };
  return (
    <section aria-labelledby="h-wizard" className="wizard">
      <h2 id="h-wizard">Share your records</h2>
      <p className="muted">Step {draft.step} of 3</p>
      {draft.step === 1 && (
        <fieldset>
          <legend>Who may read?</legend>
          <label>
            A clinician or an organisation
            <input
              value={draft.grantee}
              onChange={(event) => setDraft({ ...draft, grantee: event.target.value.trim() })}
              placeholder="Practitioner/dr-grey"
              list="members"
              aria-describedby="grantee-help"
            />
          </label>
          <datalist id="members">
            {(members.data ?? []).map((org) => (
              <option key={org} value={`Organization/${org}`} />
            ))}
          </datalist>
          <p id="grantee-help" className="muted">
            Write Practitioner/ and their id, or Organization/ and its id, as your clinician gave it
            to you.
          </p>
          <button
            type="button"
            disabled={!validGrantee}
            onClick={() => setDraft({ ...draft, step: 2 })}
          >
            Next
          </button>
        </fieldset>
      )}
      {draft.step === 2 && (
        <fieldset>
          <legend>What, and why?</legend>
          <fieldset>
            <legend>Records (none ticked: all)</legend>
            {GRANTABLE_TYPES.map((type) => (
              <label key={type} className="check">
                <input
                  type="checkbox"
                  checked={draft.resourceTypes.includes(type)}
                  onChange={() => toggle('resourceTypes', type)}
                />{' '}
                {type}
              </label>
            ))}
          </fieldset>
          <fieldset>
            <legend>Never share records marked</legend>
            {SENSITIVITY_LABELS.map(([code, words]) => (
              <label key={code} className="check">
                <input
                  type="checkbox"
                  checked={draft.excludeLabels.includes(code)}
                  onChange={() => toggle('excludeLabels', code)}
                />{' '}
                {words}
              </label>
            ))}
          </fieldset>
          <fieldset>
            <legend>For</legend>
            {PURPOSE_CHOICES.map((code) => (
              <label key={code} className="check">
                <input
                  type="checkbox"
                  checked={draft.purposes.includes(code)}
                  onChange={() => toggle('purposes', code)}
                />{' '}
                {purposeWords(code)}
              </label>
            ))}
          </fieldset>
          <label>
            Until (leave empty: until you revoke){' '}
            <input
              type="date"
              value={draft.end.slice(0, 10)}
              onChange={(event) =>
                setDraft({
                  ...draft,
                  end: event.target.value === '' ? '' : new Date(event.target.value).toISOString(),
                })
              }
            />
          </label>
          <button type="button" onClick={() => setDraft({ ...draft, step: 1 })}>
            Back
          </button>
          <button
            type="button"
            disabled={draft.purposes.length === 0}
            onClick={() => setDraft({ ...draft, step: 3 })}
          >
            Next
          </button>
        </fieldset>
      )}
      {draft.step === 3 && (
        <div>
          <h3>Check before you sign</h3>
          <p className="preview">{grantSentence(draft, labelWords, purposeWords)}</p>
          <Explain>
            Signing writes this consent to the ledger with your key. Every read under it is logged,
            and you can revoke it at any time; revoking stops future reads only.
          </Explain>
          <Problem error={error} />
          <button type="button" onClick={() => setDraft({ ...draft, step: 2 })}>
            Back
          </button>
          <button type="button" className="primary" onClick={() => void sign()}>
            Sign and share
          </button>
        </div>
      )}
    </section>
  );
}

function BreakTheGlassChoice({ patientId }: { patientId: string }) {
  const path = `/fhir/Patient/${encodeURIComponent(patientId)}/$break-the-glass-choice`;
  const choice = useLoaded(
    async () =>
      (
        await call<{ parameter?: { name: string; valueBoolean?: boolean }[] }>(path)
      ).parameter?.find((p) => p.name === 'optIn')?.valueBoolean ?? false,
    [path],
  );
  const [error, setError] = useState<Error | undefined>();
  const set = async (optIn: boolean) => {
    setError(undefined);
    try {
      await call(
        path,
        fhirBody('POST', {
          resourceType: 'Parameters',
          parameter: [{ name: 'optIn', valueBoolean: optIn }],
        }),
      );
      choice.reload();
    } catch (failure) {
      setError(failure as Error);
    }
  };
  return (
    <section aria-labelledby="h-btg">
      <h2 id="h-btg">Emergency access (break-the-glass)</h2>
      <Explain>
        If you opt in, a clinician who cannot otherwise read your records may open them in an
        emergency, for a limited time, giving a reason. You are told, and a privacy officer reviews
        every such access.
      </Explain>
      <Problem error={error} />
      <Show loaded={choice} what="your choice">
        {(optIn) => (
          <p>
            You have opted <strong>{optIn ? 'in' : 'out'}</strong>.{' '}
            <button type="button" onClick={() => void set(!optIn)}>
              {optIn ? 'Opt out of emergency access' : 'Opt in to emergency access'}
            </button>
          </p>
        )}
      </Show>
    </section>
  );
}
