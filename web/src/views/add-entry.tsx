/** Adding an observation, a condition or a note to a chart, with the record's sensitivity labels. */
import { useState } from 'react';
import { call, fhirBody } from '../node-api.js';
import { useDraft } from '../hooks.js';
import { ACT_CODE_SYSTEM, SENSITIVITY_LABELS, type Resource } from '../fhir.js';
import { Done, Problem } from '../components/feedback.js';

/** Common internal-medicine measurements: LOINC code, name, UCUM unit, category. */
const MEASUREMENTS: readonly [string, string, string, string][] = [
  ['4548-4', 'Hemoglobin A1c', '%', 'laboratory'],
  ['2339-0', 'Glucose', 'mg/dL', 'laboratory'],
  ['2093-3', 'Cholesterol', 'mg/dL', 'laboratory'],
  ['8480-6', 'Systolic blood pressure', 'mm[Hg]', 'vital-signs'],
  ['8462-4', 'Diastolic blood pressure', 'mm[Hg]', 'vital-signs'],
  ['29463-7', 'Body weight', 'kg', 'vital-signs'],
];

type Kind = 'Observation' | 'Condition' | 'DocumentReference';
const EMPTY = {
  kind: 'Observation' as Kind,
  code: '4548-4',
  value: '',
  text: '',
  labels: [] as string[],
};

function resourceOf(patientId: string, draft: typeof EMPTY): Resource {
  const subject = { reference: `Patient/${patientId}` };
  const meta =
    draft.labels.length === 0
      ? {}
      : { meta: { security: draft.labels.map((code) => ({ system: ACT_CODE_SYSTEM, code })) } };
  const now = new Date().toISOString();
  if (draft.kind === 'Observation') {
    const [code, name, unit, category] = MEASUREMENTS.find(([c]) => c === draft.code)!;
    return {
      resourceType: 'Observation',
      ...meta,
      status: 'final',
      category: [
        {
          coding: [
            {
              system: 'http://terminology.hl7.org/CodeSystem/observation-category',
              code: category,
            },
          ],
        },
      ],
      code: { coding: [{ system: 'http://loinc.org', code, display: name }], text: name },
      subject,
      effectiveDateTime: now,
      valueQuantity: {
        value: Number(draft.value),
        unit,
        system: 'http://unitsofmeasure.org',
        code: unit,
      },
    };
  }
  if (draft.kind === 'Condition') {
    return {
      resourceType: 'Condition',
      ...meta,
      clinicalStatus: {
        coding: [
          { system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: 'active' },
        ],
      },
      code: { text: draft.text.trim() },
      subject,
      recordedDate: now,
    };
  }
  const data = btoa(String.fromCharCode(...new TextEncoder().encode(draft.text)));
  return {
    resourceType: 'DocumentReference',
    ...meta,
    status: 'current',
    description: draft.text.trim().slice(0, 80),
    subject,
    date: now,
    content: [{ attachment: { contentType: 'text/plain; charset=utf-8', data } }],
  };
}

export function AddEntry({ patientId, onAdded }: { patientId: string; onAdded(): void }) {
  const [draft, setDraft, clear] = useDraft(`add:${patientId}`, EMPTY);
  const [error, setError] = useState<Error | undefined>();
  const [done, setDone] = useState('');
  const valid =
    draft.kind === 'Observation'
      ? draft.value.trim() !== '' && Number.isFinite(Number(draft.value))
      : draft.text.trim() !== '';
  const submit = async () => {
    setError(undefined);
    setDone('');
    try {
      const created = await call<Resource>(`/fhir/${draft.kind}`, {
        ...fhirBody('POST', resourceOf(patientId, draft)),
        headers: { 'content-type': 'application/fhir+json', prefer: 'return=representation' },
      });
      clear();
      setDone(
        `Added ${draft.kind} ${created.id ?? ''}: signed, encrypted and anchored on the ledger.`,
      );
      onAdded();
    } catch (failure) {
      setError(failure as Error);
    }
  };
  const toggle = (code: string) =>
    setDraft({
      ...draft,
      labels: draft.labels.includes(code)
        ? draft.labels.filter((c) => c !== code)
        : [...draft.labels, code],
    });
  return (
    <section aria-labelledby="h-add" className="add">
      <h2 id="h-add">Add to the chart</h2>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          void submit();
        }}
      >
        <label>
          Kind
          <select
            value={draft.kind}
            onChange={(event) => setDraft({ ...draft, kind: event.target.value as Kind })}
          >
            <option value="Observation">observation</option>
            <option value="Condition">condition</option>
            <option value="DocumentReference">note</option>
          </select>
        </label>
        {draft.kind === 'Observation' ? (
          <>
            <label>
              Measurement{' '}
              <select
                value={draft.code}
                onChange={(event) => setDraft({ ...draft, code: event.target.value })}
              >
                {MEASUREMENTS.map(([code, name, unit]) => (
                  <option key={code} value={code}>
                    {name} ({unit})
                  </option>
                ))}
              </select>
            </label>
            <label>
              Value{' '}
              <input
                inputMode="decimal"
                value={draft.value}
                onChange={(event) => setDraft({ ...draft, value: event.target.value })}
              />
            </label>
          </>
        ) : (
          <label>
            {draft.kind === 'Condition' ? 'Condition' : 'Note'}{' '}
            <textarea
              value={draft.text}
              maxLength={4000}
              onChange={(event) => setDraft({ ...draft, text: event.target.value })}
            />
          </label>
        )}
        <fieldset>
          <legend>Sensitivity labels</legend>
          {SENSITIVITY_LABELS.map(([code, words]) => (
            <label key={code} className="check">
              <input
                type="checkbox"
                checked={draft.labels.includes(code)}
                onChange={() => toggle(code)}
              />{' '}
              {words}
            </label>
          ))}
        </fieldset>
        <Problem error={error} />
        {done !== '' && <Done>{done}</Done>}
        <button type="submit" className="primary" disabled={!valid}>
          Add
        </button>
      </form>
    </section>
  );
}
