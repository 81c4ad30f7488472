/** The privacy officer's registries: erasures with each organisation's receipt, and data-sharing agreements. */
import { useLoaded } from '../hooks.js';
import { call } from '../node-api.js';
import { Show } from '../components/feedback.js';
import { purposeWords, when } from '../plain-words.js';

interface ErasureStatus {
  recordId: string;
  requestedBy: { role: string; subject: string };
  legalBasis: string | null;
  requestedAt: number;
  confirmedBy: Record<string, number>;
  awaiting: string[];
}
interface Agreement {
  agreementId: string;
  discloser: string;
  recipient: string;
  status: string;
  terms: {
    resourceTypes: string[];
    excludeLabels: string[];
    purposes: string[];
    period: { start: number; end: number | null };
    redisclosure: boolean;
  };
  activatedAt: number | null;
  terminatedAt: number | null;
}

export function Erasures() {
  const erasures = useLoaded(
    () => call<{ erasures: ErasureStatus[] }>('/ledger/erasures').then((a) => a.erasures),
    [],
  );
  return (
    <>
      <h1>Erasure tracker</h1>
      <Show loaded={erasures} what="erasures">
        {(list) =>
          list.length === 0 ? (
            <p>No record has been erased.</p>
          ) : (
            <table>
              <thead>
                <tr>
                  <th scope="col">Record (ledger id)</th>
                  <th scope="col">Asked by</th>
                  <th scope="col">When</th>
                  <th scope="col">Confirmed by</th>
                  <th scope="col">Awaited</th>
                </tr>
              </thead>
              <tbody>
                {list.map((e) => (
                  <tr key={e.recordId}>
                    <td>{e.recordId.slice(0, 12)}…</td>
                    <td>
                      {e.requestedBy.role}
                      {e.legalBasis === null ? '' : ` (legal basis given)`}
                    </td>
                    <td>{when(e.requestedAt)}</td>
                    <td>{Object.keys(e.confirmedBy).join(', ') || '—'}</td>
                    <td>{e.awaiting.join(', ') || 'none: complete'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )
        }
      </Show>
    </>
  );
}

export function Agreements() {
  const agreements = useLoaded(
    () => call<{ agreements: Agreement[] }>('/ledger/agreements').then((a) => a.agreements),
    [],
  );
  return (
    <>
      <h1>Data-sharing agreements</h1>
      <Show loaded={agreements} what="agreements">
        {(list) =>
          list.length === 0 ? (
            <p>No agreements.</p>
          ) : (
            <table>
              <thead>
                <tr>
                  <th scope="col">From</th>
                  <th scope="col">To</th>
                  <th scope="col">Status</th>
                  <th scope="col">Records</th>
                  <th scope="col">Never</th>
                  <th scope="col">For</th>
                  <th scope="col">Period</th>
                  <th scope="col">May pass on</th>
                </tr>
              </thead>
              <tbody>
                {list.map((a) => (
                  <tr key={a.agreementId}>
                    <td>{a.discloser}</td>
                    <td>{a.recipient}</td>
                    <td>{a.status}</td>
                    <td>{a.terms.resourceTypes.join(', ') || 'all'}</td>
                    <td>{a.terms.excludeLabels.join(', ') || '—'}</td>
                    <td>{a.terms.purposes.map(purposeWords).join(', ')}</td>
                    <td>
                      {when(a.terms.period.start)} –{' '}
                      {a.terms.period.end === null ? 'open' : when(a.terms.period.end)}
                    </td>
                    <td>{a.terms.redisclosure ? 'yes' : 'no'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )
        }
      </Show>
    </>
  );
}
