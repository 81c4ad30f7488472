/**
 * Erasure for the patient: ask for a record to be erased (with what erasure means and does not),
 * and follow each erasure's receipts from every member organisation.
 */
import { useState } from 'react';
import { useLoaded } from '../hooks.js';
import { call } from '../node-api.js';
import { conceptText, dateOf, patientQuery, searchAll, type Resource } from '../fhir.js';
import { loadTrail } from '../trail.js';
import { Done, Explain, Problem, Show } from '../components/feedback.js';
import { Confirm } from '../components/confirm.js';
import { when } from '../plain-words.js';

const ERASABLE = [
  'Observation',
  'Condition',
  'DocumentReference',
  'MedicationRequest',
  'AllergyIntolerance',
  'Immunization',
  'Encounter',
];

interface Part {
  name: string;
  valueString?: string;
  valueInstant?: string;
  part?: Part[];
}
interface Receipts {
  reference: string;
  requestedAt: string;
  confirmed: [string, string][];
  awaiting: string[];
}

async function loadReceipts(): Promise<Receipts[]> {
  const erased = (await loadTrail()).filter(
    (item) => item.entry.kind === 'erasure' && item.record !== null && item.record !== undefined,
  );
  return Promise.all(
    erased.map(async (item) => {
      const answer = await call<{ parameter: Part[] }>(`/fhir/${item.record}/$erasure`);
      const named = (name: string) => answer.parameter.filter((p) => p.name === name);
      return {
        reference: item.record!,
        requestedAt: named('requestedAt')[0]?.valueInstant ?? '',
        confirmed: named('confirmed').map((p): [string, string] => [
          p.part?.[0]?.valueString ?? '',
          p.part?.[1]?.valueInstant ?? '',
        ]),
        awaiting: named('awaiting').map((p) => p.valueString ?? ''),
      };
    }),
  );
}

export function Erasure({ patientId }: { patientId: string }) {
  const records = useLoaded(
    async () =>
      (
        await Promise.all(
          ERASABLE.map((type) => searchAll(type, patientQuery(type, patientId), 500)),
        )
      ).flat(),
    [patientId],
  );
  const receipts = useLoaded(loadReceipts, []);
  const [asking, setAsking] = useState<Resource | undefined>();
  const [error, setError] = useState<Error | undefined>();
  const [done, setDone] = useState('');
  const erase = async (resource: Resource) => {
    setAsking(undefined);
    setError(undefined);
    try {
      await call(`/fhir/${resource.resourceType}/${encodeURIComponent(resource.id ?? '')}/$erase`, {
        method: 'POST',
      });
      setDone(
        `Erasure of ${resource.resourceType} ${resource.id} is on the ledger. Each organisation confirms as it deletes its copy.`,
      );
      records.reload();
      receipts.reload();
    } catch (failure) {
      setError(failure as Error);
    }
  };
  return (
    <>
      <h1>Erasure</h1>
      <Explain>
        Erasing a record deletes its encrypted content at every organisation, and each one confirms
        on the ledger, so you can see that all of them did. The ledger keeps that the record existed
        and who read it; it cannot make anyone forget what they already read.
      </Explain>
      <Problem error={error} />
      {done !== '' && <Done>{done}</Done>}
      <section aria-labelledby="h-receipts">
        <h2 id="h-receipts">Your erasures</h2>
        <Show loaded={receipts} what="your erasures">
          {(list) =>
            list.length === 0 ? (
              <p className="muted">You have not erased anything.</p>
            ) : (
              <table>
                <thead>
                  <tr>
                    <th scope="col">Record</th>
                    <th scope="col">Asked</th>
                    <th scope="col">Confirmed by</th>
                    <th scope="col">Still awaited</th>
                  </tr>
                </thead>
                <tbody>
                  {list.map((r) => (
                    <tr key={r.reference}>
                      <td>{r.reference}</td>
                      <td>{r.requestedAt === '' ? '—' : when(r.requestedAt)}</td>
                      <td>
                        {r.confirmed.map(([org, at]) => `${org} (${when(at)})`).join(', ') || '—'}
                      </td>
                      <td>{r.awaiting.join(', ') || 'nobody: done'}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )
          }
        </Show>
      </section>
      <section aria-labelledby="h-erasable">
        <h2 id="h-erasable">Your records</h2>
        <Show loaded={records} what="your records">
          {(list) => (
            <ul className="records">
              {list
                .sort((a, b) => dateOf(b) - dateOf(a))
                .slice(0, 200)
                .map((r) => (
                  <li key={`${r.resourceType}/${r.id}`}>
                    {r.resourceType}:{' '}
                    {conceptText(
                      r['code'] ?? r['vaccineCode'] ?? r['medicationCodeableConcept'] ?? r['type'],
                    )}{' '}
                    <span className="muted">
                      {Number.isNaN(dateOf(r)) ? '' : new Date(dateOf(r)).toLocaleDateString()}
                    </span>
                    <button
                      type="button"
                      className="small"
                      onClick={() => setAsking(r)}
                      aria-label={`Erase ${r.resourceType} ${r.id}`}
                    >
                      erase
                    </button>
                  </li>
                ))}
            </ul>
          )}
        </Show>
      </section>
      <Confirm
        open={asking !== undefined}
        title="Erase this record?"
        confirmLabel="Erase"
        onCancel={() => setAsking(undefined)}
        onConfirm={() => asking && void erase(asking)}
      >
        <p>
          {asking?.resourceType} {asking?.id} will be deleted at every organisation that holds it.
          This cannot be undone.
        </p>
        <p>Your clinicians will no longer see it. What was already read cannot be un-read.</p>
      </Confirm>
    </>
  );
}
