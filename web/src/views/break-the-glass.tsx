/** Break-the-glass for a clinician refused a chart: a purpose, a reason and a time limit, after a plain warning. */
import { useState } from 'react';
import { call, fhirBody } from '../node-api.js';
import { useDraft } from '../hooks.js';
import { Problem } from '../components/feedback.js';

export function BreakTheGlass({
  patientId,
  onGranted,
}: {
  patientId: string;
  onGranted(purpose: string): void;
}) {
  const [draft, setDraft, clear] = useDraft(`btg:${patientId}`, {
    purpose: 'ETREAT',
    reason: '',
    minutes: '60',
  });
  const [error, setError] = useState<Error | undefined>();
  const submit = async () => {
    setError(undefined);
    try {
      const parameter = [
        { name: 'purpose', valueCode: draft.purpose },
        { name: 'reason', valueString: draft.reason.trim() },
        { name: 'minutes', valueInteger: Number(draft.minutes) },
      ];
      await call(
        `/fhir/Patient/${encodeURIComponent(patientId)}/$break-the-glass`,
        fhirBody('POST', { resourceType: 'Parameters', parameter }),
      );
      clear();
      onGranted(draft.purpose);
    } catch (failure) {
      setError(failure as Error);
    }
  };
  return (
    <section aria-labelledby="h-btg" className="btg">
      <h2 id="h-btg">Break the glass</h2>
      <p className="warning">
        In an emergency you may open this chart for a limited time.{' '}
        <strong>The patient will be told, and the privacy officer will review your reason.</strong>{' '}
        Your reason is sealed so that only they can read it.
      </p>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          void submit();
        }}
      >
        <label>
          Purpose
          <select
            value={draft.purpose}
            onChange={(event) => setDraft({ ...draft, purpose: event.target.value })}
          >
            <option value="ETREAT">emergency treatment</option>
            <option value="BTG">break-the-glass (other emergency)</option>
          </select>
        </label>
        <label>
          Reason{' '}
          <textarea
            required
            maxLength={500}
            value={draft.reason}
            onChange={(event) =>
              setDraft({ ...draft, reason: event.target.value.replace(/[\r\n]+/g, ' ') })
            }
          />
        </label>
        <label>
          For how long
          <select
            value={draft.minutes}
            onChange={(event) => setDraft({ ...draft, minutes: event.target.value })}
          >
            {[15, 30, 60, 120, 240, 480].map((m) => (
              <option key={m} value={m}>
                {m < 60 ? `${m} minutes` : `${m / 60} hour${m > 60 ? 's' : ''}`}
              </option>
            ))}
          </select>
        </label>
        <Problem error={error} />
        <button type="submit" className="danger" disabled={draft.reason.trim() === ''}>
          Break the glass and open the chart
        </button>
      </form>
    </section>
  );
}
