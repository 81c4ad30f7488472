/** The patient's notifications: break-the-glass accesses to their record and their review outcome. */
import { useLoaded } from '../hooks.js';
import { call } from '../node-api.js';
import { Show, Explain } from '../components/feedback.js';
import { denialWords, purposeWords, when } from '../plain-words.js';
import type { BreakTheGlassEvent } from './reviews.js';

export function Notifications() {
  const events = useLoaded(() => call<{ events: BreakTheGlassEvent[] }>('/ledger/break-the-glass').then((a) => a.events), []);
  return (
    <>
      <h1>Notifications</h1>
      <Explain>You are told of every emergency (break-the-glass) access to your record, with the clinician's reason and the privacy officer's verdict. Every other access is in "Who accessed my record".</Explain>
      <Show loaded={events} what="your notifications">
        {(list) => list.length === 0 ? <p>No emergency accesses to your record.</p> : (
          <ul className="notifications">{list.map((event) => (
            <li key={event.btgId}>
              <strong>{when(event.start)}: {event.practitionerId} of {event.org}</strong> {event.outcome === 'permit' ? 'opened your record in an emergency' : `asked for emergency access and was refused (${denialWords(event.denial)})`} for {purposeWords(event.purpose)}, until {when(event.end)}.
              <br />Reason: {event.reason ?? '(could not be opened)'}.
              <br />{event.review === null ? 'Not reviewed yet by the privacy officer.' : `The privacy officer found it ${event.review.justified ? 'justified' : 'not justified'}${event.reviewNote === null ? '' : `: ${event.reviewNote}`}.`}
            </li>
          ))}</ul>
        )}
      </Show>
    </>
  );
}
