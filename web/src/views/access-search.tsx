/**
 * The privacy officer's access search across patients (GET /ledger/accesses): by user, patient,
 * date, outcome and purpose, newest first, exported as CSV.
 */
import { useState } from 'react';
import { call } from '../node-api.js';
import { useDraft } from '../hooks.js';
import { Problem } from '../components/feedback.js';
import { basisWords, purposeWords, when } from '../plain-words.js';
import { csvText, download } from '../csv.js';
import type { AuditEntry } from '../trail.js';

interface Hit {
  patient: string;
  patientRef: string;
  entry: AuditEntry;
  record: string | null;
}
interface Answer {
  hits: Hit[];
  scanned: number;
  truncated: boolean;
}

export function AccessSearch() {
  const [query, setQuery] = useDraft('access-search', {
    patient: '',
    user: '',
    outcome: '',
    purpose: '',
    from: '',
    to: '',
  });
  const [answer, setAnswer] = useState<Answer | undefined>();
  const [error, setError] = useState<Error | undefined>();
  const search = async () => {
    setError(undefined);
    const params = new URLSearchParams();
    if (query.user.trim() !== '') params.set('user', query.user.trim());
    if (query.outcome !== '') params.set('outcome', query.outcome);
    if (query.purpose !== '') params.set('purpose', query.purpose);
    if (query.from !== '') params.set('since', query.from);
    if (query.to !== '')
      params.set('until', new Date(Date.parse(query.to) + 86_400_000).toISOString().slice(0, 10));
    try {
      setAnswer(await call<Answer>(`/ledger/accesses?${params}`));
    } catch (failure) {
      setError(failure as Error);
    }
  };
  const patient = query.patient.trim();
  const shown = (answer?.hits ?? []).filter(
    (hit) => patient === '' || hit.patientRef === `Patient/${patient}` || hit.patient === patient,
  );
  const field = (name: keyof typeof query) => (event: { target: { value: string } }) =>
    setQuery({ ...query, [name]: event.target.value });
  const rows = shown.map((hit) => [
    new Date(hit.entry.time).toISOString(),
    hit.entry.kind,
    hit.entry.actor?.subject,
    hit.entry.actor?.org,
    hit.patientRef,
    hit.record ?? '',
    hit.entry.purpose,
    hit.entry.outcome,
    hit.entry.reason,
    hit.entry.released === true ? 'yes' : hit.entry.released === false ? 'no' : '',
  ]);
  return (
    <>
      <h1>Access search</h1>
      <form
        className="filters"
        onSubmit={(event) => {
          event.preventDefault();
          void search();
        }}
      >
        <label>
          User <input value={query.user} onChange={field('user')} placeholder="dr-grey" />
        </label>
        <label>
          Patient id <input value={query.patient} onChange={field('patient')} placeholder="any" />
        </label>
        <label>
          Outcome{' '}
          <select value={query.outcome} onChange={field('outcome')}>
            <option value="">any</option>
            <option value="permit">allowed</option>
            <option value="deny">refused</option>
          </select>
        </label>
        <label>
          Purpose{' '}
          <select value={query.purpose} onChange={field('purpose')}>
            <option value="">any</option>
            {['TREAT', 'ETREAT', 'BTG', 'HPAYMT', 'HRESCH', 'PATRQT'].map((code) => (
              <option key={code} value={code}>
                {purposeWords(code)}
              </option>
            ))}
          </select>
        </label>
        <label>
          From <input type="date" value={query.from} onChange={field('from')} />
        </label>
        <label>
          To <input type="date" value={query.to} onChange={field('to')} />
        </label>
        <button type="submit">Search</button>
        <button
          type="button"
          disabled={answer === undefined}
          onClick={() =>
            download(
              'accesses.csv',
              csvText(
                [
                  'time',
                  'event',
                  'user',
                  'organisation',
                  'patient',
                  'record',
                  'purpose',
                  'outcome',
                  'reason',
                  'released',
                ],
                rows,
              ),
            )
          }
        >
          Export CSV
        </button>
      </form>
      <Problem error={error} />
      {answer !== undefined && (
        <table>
          <caption>
            {shown.length} accesses
            {answer.truncated ? ' (the newest; narrow the search for older ones)' : ''}, from{' '}
            {answer.scanned} audit entries
          </caption>
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Event</th>
              <th scope="col">User</th>
              <th scope="col">Patient</th>
              <th scope="col">Record</th>
              <th scope="col">Purpose</th>
              <th scope="col">Basis</th>
              <th scope="col">Outcome</th>
            </tr>
          </thead>
          <tbody>
            {shown.map((hit) => (
              <tr key={`${hit.patient}-${hit.entry.seq}`}>
                <td>{when(hit.entry.time)}</td>
                <td>{hit.entry.kind}</td>
                <td>
                  {hit.entry.actor?.subject}
                  <br />
                  <span className="muted">{hit.entry.actor?.org ?? ''}</span>
                </td>
                <td>{hit.patientRef}</td>
                <td>{hit.record ?? '—'}</td>
                <td>{purposeWords(hit.entry.purpose)}</td>
                <td>{basisWords(hit.entry.basis?.kind)}</td>
                <td>
                  {hit.entry.outcome !== 'deny'
                    ? 'allowed'
                    : `${hit.entry.released === true ? 'released, though the ledger refused it' : 'refused'} (${hit.entry.reason ?? ''})`}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}
