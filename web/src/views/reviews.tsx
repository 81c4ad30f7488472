/** The privacy officer's break-the-glass review queue: the reason, the window, what was read, and a verdict signed to the ledger. */
import { useState } from 'react';
import { useLoaded } from '../hooks.js';
import { call } from '../node-api.js';
import { Done, Problem, Show } from '../components/feedback.js';
import { purposeWords, when } from '../plain-words.js';
import type { TrailItem } from '../trail.js';

export interface BreakTheGlassEvent {
  btgId: string;
  patient: string;
  practitionerId: string;
  org: string;
  purpose: string;
  outcome: string;
  denial: string | null;
  start: number;
  end: number;
  review: { justified: boolean; at: number } | null;
  reason: string | null;
  reviewNote: string | null;
  reads?: TrailItem[];
}

export function Reviews() {
  const queue = useLoaded(
    () =>
      call<{ events: BreakTheGlassEvent[] }>('/ledger/break-the-glass?status=all').then(
        (a) => a.events,
      ),
    [],
  );
  return (
    <>
      <h1>Break-the-glass reviews</h1>
      <Show loaded={queue} what="the review queue">
        {(events) =>
          events.length === 0 ? (
            <p>No break-the-glass accesses.</p>
          ) : (
            <ul className="reviews">
              {events.map((event) => (
                <Review key={event.btgId} event={event} onReviewed={queue.reload} />
              ))}
            </ul>
          )
        }
      </Show>
    </>
  );
}

function Review({ event, onReviewed }: { event: BreakTheGlassEvent; onReviewed(): void }) {
  const detail = useLoaded(
    async () =>
      event.outcome === 'permit'
        ? call<BreakTheGlassEvent>(`/ledger/break-the-glass/${event.btgId}`)
        : event,
    [event],
  );
  const [note, setNote] = useState('');
  const [error, setError] = useState<Error | undefined>();
  const review = async (justified: boolean) => {
    setError(undefined);
    try {
      await call(`/ledger/break-the-glass/${event.btgId}/review`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(note.trim() === '' ? { justified } : { justified, note: note.trim() }),
      });
      onReviewed();
    } catch (failure) {
      setError(failure as Error);
    }
  };
  return (
    <li className="review">
      <h2>
        {event.practitionerId} of {event.org}, patient {event.patient.slice(0, 10)}…
      </h2>
      <dl className="facts">
        <dt>Purpose</dt>
        <dd>{purposeWords(event.purpose)}</dd>
        <dt>Reason</dt>
        <dd>{event.reason ?? '(sealed; cannot be opened here)'}</dd>
        {event.outcome === 'permit' && (
          <>
            <dt>Window</dt>
            <dd>
              {when(event.start)} to {when(event.end)}
            </dd>
            <dt>Read during it</dt>
            <dd>
              <Show loaded={detail} what="the reads">
                {(d) => (
                  <>
                    {(d.reads ?? []).length} reads
                    {(d.reads ?? []).length === 0
                      ? ''
                      : `: ${(d.reads ?? []).map((r) => r.record ?? r.entry.kind).join(', ')}`}
                  </>
                )}
              </Show>
            </dd>
          </>
        )}
      </dl>
      {event.outcome !== 'permit' ? (
        <p>
          Refused by the ledger ({event.denial ?? 'denied'}): nothing was opened, nothing to review.
        </p>
      ) : event.review !== null ? (
        <Done>
          Reviewed {when(event.review.at)}: {event.review.justified ? 'justified' : 'not justified'}
          {event.reviewNote === null ? '' : ` (${event.reviewNote})`}
        </Done>
      ) : (
        <form onSubmit={(e) => e.preventDefault()}>
          <label>
            Note (sealed to the patient and your organisation){' '}
            <input value={note} maxLength={500} onChange={(e) => setNote(e.target.value)} />
          </label>
          <Problem error={error} />
          <button type="button" onClick={() => void review(true)}>
            Justified
          </button>
          <button type="button" className="danger" onClick={() => void review(false)}>
            Not justified
          </button>
        </form>
      )}
    </li>
  );
}
