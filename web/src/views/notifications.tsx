/** The patient's notifications: break-the-glass accesses to their record and their review outcome. */
import { useLoaded, useRecordChanges } from '../hooks.js';
import { call } from '../node-api.js';
import { Show, Explain } from '../components/feedback.js';
import { denialWords, purposeWords, when } from '../plain-words.js';
import type { BreakTheGlassEvent } from './reviews.js';
import { conceptText, patientQuery, searchAll, type Resource } from '../fhir.js';

const NEW_RECORD_TYPES = [
  'Observation',
  'Condition',
  'DocumentReference',
  'MedicationRequest',
  'Encounter',
];

/** The patient's records written or changed in the last 30 days, newest first. */
async function newRecords(patientId: string): Promise<Resource[]> {
  const since = new Date(Date.now() - 30 * 86_400_000).toISOString().slice(0, 10);
  const lists = await Promise.all(
    NEW_RECORD_TYPES.map((type) =>
      searchAll(type, { ...patientQuery(type, patientId), _lastUpdated: `ge${since}` }, 200),
    ),
  );
  return lists
    .flat()
    .sort((a, b) => Date.parse(b.meta?.lastUpdated ?? '') - Date.parse(a.meta?.lastUpdated ?? ''));
}

export function Notifications({ patientId }: { patientId: string }) {
  const events = useLoaded(
    () => call<{ events: BreakTheGlassEvent[] }>('/ledger/break-the-glass').then((a) => a.events),
    [],
  );
  const records = useLoaded(() => newRecords(patientId), [patientId]);
  useRecordChanges(records.reload);
  return (
    <>
      <h1>Notifications</h1>
      <Explain>
        You are told of every emergency (break-the-glass) access to your record, with the
        clinician's reason and the privacy officer's verdict. Every other access is in "Who accessed
        my record".
      </Explain>
      <Show loaded={events} what="your notifications">
        {(list) =>
          list.length === 0 ? (
            <p>No emergency accesses to your record.</p>
          ) : (
            <ul className="notifications">
              {list.map((event) => (
                <li key={event.btgId}>
                  <strong>
                    {when(event.start)}: {event.practitionerId} of {event.org}
                  </strong>{' '}
                  {event.outcome === 'permit'
                    ? 'opened your record in an emergency'
                    : `asked for emergency access and was refused (${denialWords(event.denial)})`}{' '}
                  for {purposeWords(event.purpose)}, until {when(event.end)}.
                  <br />
                  Reason: {event.reason ?? '(could not be opened)'}.
                  <br />
                  {event.review === null
                    ? 'Not reviewed yet by the privacy officer.'
                    : `The privacy officer found it ${event.review.justified ? 'justified' : 'not justified'}${event.reviewNote === null ? '' : `: ${event.reviewNote}`}.`}
                </li>
              ))}
            </ul>
          )
        }
      </Show>
      <h2>New in your record (last 30 days)</h2>
      <Show loaded={records} what="new records">
        {(list) =>
          list.length === 0 ? (
            <p>Nothing new.</p>
          ) : (
            <ul className="notifications">
              {list.slice(0, 50).map((r) => (
                <li key={`${r.resourceType}/${r.id}`}>
                  {when(r.meta?.lastUpdated ?? '')}:{' '}
                  {r.resourceType === 'DocumentReference'
                    ? 'a note'
                    : conceptText(r['code'] ?? r['medicationCodeableConcept'] ?? r['type'])}{' '}
                  <span className="muted">({r.resourceType})</span>
                </li>
              ))}
            </ul>
          )
        }
      </Show>
    </>
  );
}
