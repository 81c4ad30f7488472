/**
 * The privacy officer's access search: a patient's audit events (the FHIR AuditEvent view of
 * their trail), filtered by user, date, outcome and purpose, and exported as CSV.
 */
import { useState } from 'react';
import { searchAll, type Resource } from '../fhir.js';
import { useDraft } from '../hooks.js';
import { Problem } from '../components/feedback.js';
import { purposeWords, when } from '../plain-words.js';
import { csvText, download } from '../csv.js';

interface Row { time: string; kind: string; who: string; outcome: string; purpose: string; records: string }

function rowOf(event: Resource): Row {
  const agents = (event['agent'] ?? []) as { who?: { reference?: string }; requestor?: boolean }[];
  const entities = (event['entity'] ?? []) as { what?: { reference?: string } }[];
  const purpose = ((event['purposeOfEvent'] ?? []) as { coding?: { code?: string }[] }[])[0]?.coding?.[0]?.code;
  return {
    time: String(event['recorded'] ?? ''),
    kind: String((event['type'] as { code?: string } | undefined)?.code ?? ''),
    who: agents.filter((agent) => agent.requestor).map((agent) => agent.who?.reference ?? '').join(', '),
    outcome: event['outcome'] === '0' ? 'allowed' : 'refused',
    purpose: purpose ?? '',
    records: entities.map((entity) => entity.what?.reference ?? '').filter((reference) => reference !== '' && !reference.startsWith('Patient/')).join(', '),
  };
}

export function AccessSearch() {
  const [query, setQuery] = useDraft('access-search', { patient: '', user: '', outcome: '', purpose: '', from: '', to: '' });
  const [rows, setRows] = useState<Row[] | undefined>();
  const [error, setError] = useState<Error | undefined>();
  const search = async () => {
    setError(undefined);
    try {
      setRows((await searchAll('AuditEvent', { patient: query.patient.trim() }, 5000)).map(rowOf));
    } catch (failure) {
      setError(failure as Error);
    }
  };
  const shown = (rows ?? []).filter((row) =>
    (query.user === '' || row.who.toLowerCase().includes(query.user.toLowerCase())) &&
    (query.outcome === '' || row.outcome === query.outcome) &&
    (query.purpose === '' || row.purpose === query.purpose) &&
    (query.from === '' || row.time >= query.from) &&
    (query.to === '' || row.time.slice(0, 10) <= query.to));
  const field = (name: keyof typeof query) => (event: { target: { value: string } }) => setQuery({ ...query, [name]: event.target.value });
  return (
    <>
      <h1>Access search</h1>
      <form className="filters" onSubmit={(event) => { event.preventDefault(); void search(); }}>
        <label>Patient id <input required value={query.patient} onChange={field('patient')} /></label>
        <button type="submit">Search</button>
        <label>User <input value={query.user} onChange={field('user')} placeholder="dr-grey" /></label>
        <label>Outcome <select value={query.outcome} onChange={field('outcome')}><option value="">any</option><option value="allowed">allowed</option><option value="refused">refused</option></select></label>
        <label>Purpose <select value={query.purpose} onChange={field('purpose')}><option value="">any</option>{['TREAT', 'ETREAT', 'BTG', 'HPAYMT', 'HRESCH', 'PATRQT'].map((code) => <option key={code} value={code}>{purposeWords(code)}</option>)}</select></label>
        <label>From <input type="date" value={query.from} onChange={field('from')} /></label>
        <label>To <input type="date" value={query.to} onChange={field('to')} /></label>
        <button type="button" disabled={rows === undefined} onClick={() => download('accesses.csv', csvText(['time', 'event', 'who', 'outcome', 'purpose', 'records'], shown.map((r) => [r.time, r.kind, r.who, r.outcome, r.purpose, r.records])))}>Export CSV</button>
      </form>
      <Problem error={error} />
      {rows !== undefined && (
        <table>
          <caption>{shown.length} of {rows.length} events of patient {query.patient}</caption>
          <thead><tr><th scope="col">When</th><th scope="col">Event</th><th scope="col">Who</th><th scope="col">Outcome</th><th scope="col">Purpose</th><th scope="col">Records</th></tr></thead>
          <tbody>{shown.map((row, i) => <tr key={i}><td>{when(row.time)}</td><td>{row.kind}</td><td>{row.who}</td><td>{row.outcome}</td><td>{purposeWords(row.purpose)}</td><td>{row.records || '—'}</td></tr>)}</tbody>
        </table>
      )}
    </>
  );
}
