/** The block and transaction explorer: each transaction's type, signer and status, never its content. */
import { useLoaded } from '../hooks.js';
import { call, publicCall } from '../node-api.js';
import { Show } from '../components/feedback.js';
import { when } from '../plain-words.js';

interface Block {
  hash: string;
  header: { height: number; time: number; proposer: string; logSize: number };
  txs: { tx: { txId?: string; type: string; signer: string }; status: string }[];
}

async function latestBlocks(): Promise<Block[]> {
  const { height } = await publicCall<{ height: number }>('/ledger/status');
  const heights = Array.from({ length: Math.min(20, height + 1) }, (_, i) => height - i);
  return Promise.all(heights.map((h) => call<Block>(`/ledger/blocks/${h}`)));
}

export function Explorer({ height }: { height: number | undefined }) {
  const blocks = useLoaded(
    () =>
      height === undefined || !Number.isSafeInteger(height)
        ? latestBlocks()
        : call<Block>(`/ledger/blocks/${height}`).then((b) => [b]),
    [height],
  );
  return (
    <>
      <h1>Blocks</h1>
      <p className="muted">
        Transactions by type, signer and status. Clinical content is never shown: on the ledger it
        is only ciphertext hashes.
      </p>
      <Show loaded={blocks} what="blocks">
        {(list) =>
          list.map((block) => (
            <section key={block.hash} aria-labelledby={`b-${block.header.height}`}>
              <h2 id={`b-${block.header.height}`}>
                <a href={`#/blocks/${block.header.height}`}>Block {block.header.height}</a>{' '}
                <span className="muted">
                  {when(block.header.time)} · {block.hash.slice(0, 16)}…
                </span>
              </h2>
              <table>
                <thead>
                  <tr>
                    <th scope="col">Type</th>
                    <th scope="col">Signer</th>
                    <th scope="col">Status</th>
                  </tr>
                </thead>
                <tbody>
                  {block.txs.map((entry, i) => (
                    <tr key={i}>
                      <td>{entry.tx.type}</td>
                      <td title={entry.tx.signer}>{entry.tx.signer.slice(0, 16)}…</td>
                      <td>{entry.status}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </section>
          ))
        }
      </Show>
    </>
  );
}
