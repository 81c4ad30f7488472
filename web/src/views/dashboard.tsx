/** The compliance dashboard: height, finalised height, alarms, peers, and this browser's last ledger check. */
import { useLoaded } from '../hooks.js';
import { publicCall } from '../node-api.js';
import { checkTreeHead } from '../ledger-check.js';
import { Show } from '../components/feedback.js';
import { when } from '../plain-words.js';

interface Status {
  orgId: string;
  height: number;
  finalisedHeight?: number;
  logSize: number;
  halted: string | null;
  alarms: { kind?: string; message?: string; at?: number }[];
  peers?: Record<string, { height: number }>;
}

export function Dashboard() {
  const status = useLoaded(() => publicCall<Status>('/ledger/status'), []);
  const check = useLoaded(async () => ({ head: await checkTreeHead(), at: Date.now() }), []);
  return (
    <>
      <h1>Dashboard</h1>
      <Show loaded={status} what="the node's status">
        {(s) => (
          <dl className="facts">
            <dt>Organisation</dt>
            <dd>{s.orgId}</dd>
            <dt>Height</dt>
            <dd>{s.height}</dd>
            <dt>Finalised height</dt>
            <dd>{s.finalisedHeight ?? '—'}</dd>
            <dt>Log entries</dt>
            <dd>{s.logSize}</dd>
            <dt>State</dt>
            <dd>{s.halted === null ? 'running' : `halted: ${s.halted}`}</dd>
            <dt>Alarms</dt>
            <dd>
              {s.alarms.length === 0 ? (
                'none'
              ) : (
                <ul>
                  {s.alarms.map((a, i) => (
                    <li key={i}>
                      {a.kind ?? 'alarm'}: {a.message ?? ''}
                    </li>
                  ))}
                </ul>
              )}
            </dd>
            <dt>Peers</dt>
            <dd>
              {Object.entries(s.peers ?? {})
                .map(([org, peer]) => `${org} at ${peer.height}`)
                .join('; ') || '—'}
            </dd>
          </dl>
        )}
      </Show>
      <h2>Last verification</h2>
      <Show loaded={check} what="the ledger check">
        {({ head, at }) => (
          <p role="status" data-chain="verified">
            Chain verified in this browser at {when(at)}: signed tree head of {head.logSize} entries
            at block {head.height}, consistent with the last one seen here.
          </p>
        )}
      </Show>
    </>
  );
}
