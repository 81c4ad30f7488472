/**
 * Who accessed my record: every access and denial in the patient's trail, filterable and
 * exportable, each with its inclusion proof checked in this browser. New entries arrive as the
 * node commits them.
 */
import { useEffect, useMemo, useState } from 'react';
import { useLoaded } from '../hooks.js';
import { followTrail, loadTrail, type TrailItem } from '../trail.js';
import {
  basisWords,
  denialWords,
  kindWords,
  purposeWords,
  roleWords,
  when,
} from '../plain-words.js';
import { Explain, Show } from '../components/feedback.js';
import { ProofBadge } from '../components/proof-badge.js';
import { csvText, download } from '../csv.js';

interface Filter {
  kind: string;
  outcome: string;
  text: string;
  from: string;
  to: string;
}

function matches(item: TrailItem, filter: Filter): boolean {
  const { entry } = item;
  if (filter.kind !== '' && entry.kind !== filter.kind) return false;
  if (filter.outcome !== '' && entry.outcome !== filter.outcome) return false;
  if (filter.from !== '' && entry.time < Date.parse(filter.from)) return false;
  if (filter.to !== '' && entry.time >= Date.parse(filter.to) + 86_400_000) return false;
  const text = filter.text.trim().toLowerCase();
  return (
    text === '' ||
    [entry.actor?.subject, entry.actor?.org, item.record].some((value) =>
      value?.toLowerCase().includes(text),
    )
  );
}

/** The rows as CSV, one per entry. */
function csvOf(items: readonly TrailItem[]): string {
  const header = [
    'time',
    'what',
    'who',
    'role',
    'organisation',
    'record',
    'purpose',
    'basis',
    'outcome',
    'reason',
    'transaction',
  ];
  return csvText(
    header,
    items.map(({ entry, record }) => [
      new Date(entry.time).toISOString(),
      entry.kind,
      entry.actor?.subject,
      entry.actor?.role,
      entry.actor?.org,
      record ?? '',
      entry.purpose,
      entry.basis?.kind,
      entry.outcome,
      entry.reason,
      entry.txId,
    ]),
  );
}

export function AccessTrail() {
  const loaded = useLoaded(() => loadTrail(), []);
  const [pushed, setPushed] = useState<TrailItem[]>([]);
  const [filter, setFilter] = useState<Filter>({
    kind: '',
    outcome: '',
    text: '',
    from: '',
    to: '',
  });
  const lastSeq = loaded.data?.at(-1)?.entry.seq;
  useEffect(() => {
    if (loaded.data === undefined) return;
    return followTrail(lastSeq ?? 0, {
      onEntry: (item) =>
        setPushed((items) =>
          items.some((i) => i.entry.seq === item.entry.seq) ? items : [...items, item],
        ),
    });
  }, [loaded.data, lastSeq]);
  const all = useMemo(
    () =>
      [
        ...(loaded.data ?? []),
        ...pushed.filter((item) => item.entry.seq > (lastSeq ?? 0)),
      ].reverse(),
    [loaded.data, pushed, lastSeq],
  );
  const shown = all.filter((item) => matches(item, filter));
  const set = (field: keyof Filter) => (event: { target: { value: string } }) =>
    setFilter({ ...filter, [field]: event.target.value });
  return (
    <>
      <h1>Who accessed my record</h1>
      <Explain>
        Each line was written to the ledger before anything was shown. The badge checks, in this
        browser, that the line is in the signed log. A revoked consent stops future reads; it cannot
        un-read what was already read.
      </Explain>
      <form
        className="filters"
        onSubmit={(event) => event.preventDefault()}
        aria-label="Filter the accesses"
      >
        <label>
          What{' '}
          <select value={filter.kind} onChange={set('kind')}>
            <option value="">everything</option>
            {['access', 'search', 'break-the-glass', 'grant', 'revoke', 'key-share'].map((kind) => (
              <option key={kind} value={kind}>
                {kindWords(kind)}
              </option>
            ))}
          </select>
        </label>
        <label>
          Outcome{' '}
          <select value={filter.outcome} onChange={set('outcome')}>
            <option value="">any</option>
            <option value="permit">allowed</option>
            <option value="deny">refused</option>
          </select>
        </label>
        <label>
          Who or what{' '}
          <input value={filter.text} onChange={set('text')} placeholder="dr-grey, Observation…" />
        </label>
        <label>
          From <input type="date" value={filter.from} onChange={set('from')} />
        </label>
        <label>
          To <input type="date" value={filter.to} onChange={set('to')} />
        </label>
        <button type="button" onClick={() => download('my-record-accesses.csv', csvOf(shown))}>
          Export CSV
        </button>
      </form>
      <Show loaded={loaded} what="your access history">
        {() => (
          <table className="trail">
            <caption>
              {shown.length} of {all.length} entries, newest first
            </caption>
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">What</th>
                <th scope="col">Who</th>
                <th scope="col">Record</th>
                <th scope="col">Purpose</th>
                <th scope="col">Basis</th>
                <th scope="col">Outcome</th>
                <th scope="col">Proof</th>
              </tr>
            </thead>
            <tbody>
              {shown.map((item) => (
                <Row key={item.entry.seq} item={item} />
              ))}
            </tbody>
          </table>
        )}
      </Show>
    </>
  );
}

function Row({ item }: { item: TrailItem }) {
  const { entry } = item;
  const refused = entry.outcome === 'deny';
  return (
    <tr className={refused ? 'refused' : undefined}>
      <td>{when(entry.time)}</td>
      <td>{kindWords(entry.kind)}</td>
      <td>
        {entry.actor?.role === 'patient' ? 'you' : (entry.actor?.subject ?? '—')}
        <br />
        <span className="muted">
          {roleWords(entry.actor?.role)}
          {entry.actor?.org === undefined ? '' : `, ${entry.actor.org}`}
        </span>
      </td>
      <td>{item.record ?? (entry.recordId === null ? '—' : 'a record')}</td>
      <td>{purposeWords(entry.purpose)}</td>
      <td>{basisWords(entry.basis?.kind)}</td>
      <td>
        {entry.outcome === null
          ? '—'
          : refused
            ? `${entry.released === true ? 'released, though the ledger refused it' : 'refused'}: ${denialWords(entry.reason)}`
            : 'allowed'}
      </td>
      <td>
        <ProofBadge proof={item.proof} txId={entry.txId} />
      </td>
    </tr>
  );
}
