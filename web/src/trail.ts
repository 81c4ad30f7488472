/** The patient's audit trail from /ledger/trail, paged, and new entries pushed by the node as they commit. */
import { call } from './node-api.js';
import { freshSession } from './session.js';
import type { InclusionProof } from './ledger-check.js';

export interface AuditEntry {
  readonly seq: number;
  readonly kind: string;
  readonly txId: string;
  readonly time: number;
  readonly actor: {
    readonly role?: string;
    readonly subject?: string;
    readonly org?: string;
  } | null;
  readonly recordId: string | null;
  readonly purpose: string | null;
  readonly outcome: string | null;
  readonly reason: string | null;
  /** For an access: whether the node released the content; true with outcome 'deny' is a release the ledger refused at its block. */
  readonly released?: boolean | null;
  /** What allowed the access: a grant, an agreement, break-the-glass, the home organisation. */
  readonly basis: {
    readonly kind: string;
    readonly grantId?: string | null;
    readonly agreementId?: string | null;
    readonly breakTheGlassId?: string | null;
  } | null;
}

export interface TrailItem {
  readonly entry: AuditEntry;
  readonly proof: InclusionProof;
  /** `Type/id` of the record, when the node can name it. */
  readonly record?: string | null;
}

const PAGE = 500;

/** Every trail entry from `fromSeq` on. */
export async function loadTrail(fromSeq = 1): Promise<TrailItem[]> {
  const items: TrailItem[] = [];
  for (let next = fromSeq; ;) {
    const page = await call<{ entries: TrailItem[] }>(
      `/ledger/trail?fromSeq=${next}&limit=${PAGE}`,
    );
    items.push(...page.entries);
    if (page.entries.length < PAGE) return items;
    next = page.entries[page.entries.length - 1]!.entry.seq + 1;
  }
}

/** What the node pushes on the trail stream: new trail entries, and new versions of the patient's records (ids only). */
export interface TrailListener {
  onEntry?(item: TrailItem): void;
  onRecord?(change: { record: string | null; version: number }): void;
}

/**
 * Follows the patient's trail stream (server-sent events over a fetch stream, which can carry the
 * bearer token): entries after `lastSeq` (only new ones when undefined), and record changes.
 * Reconnects after a drop; returns a function that stops it.
 */
export function followTrail(lastSeq: number | undefined, listener: TrailListener): () => void {
  const stop = new AbortController();
  let seen = lastSeq;
  const run = async (): Promise<void> => {
    while (!stop.signal.aborted) {
      try {
        const session = await freshSession();
        if (session === undefined) return;
        const headers: Record<string, string> = { authorization: `Bearer ${session.accessToken}` };
        if (seen !== undefined) headers['last-event-id'] = String(seen);
        const response = await fetch('/ledger/trail/stream', { headers, signal: stop.signal });
        if (!response.ok || response.body === null) throw new Error(String(response.status));
        for await (const { event, data } of events(response.body)) {
          if (event === 'record')
            listener.onRecord?.(JSON.parse(data) as { record: string | null; version: number });
          if (event !== 'entry') continue;
          const item = JSON.parse(data) as TrailItem;
          seen = Math.max(seen ?? 0, item.entry.seq);
          listener.onEntry?.(item);
        }
      } catch {
        if (stop.signal.aborted) return;
      }
      await new Promise((resolve) => setTimeout(resolve, 3000));
    }
  };
  void run();
  return () => stop.abort();
}

async function* events(
  body: ReadableStream<Uint8Array>,
): AsyncGenerator<{ event: string; data: string }> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const lines = buffer.slice(0, end).split('\n');
      buffer = buffer.slice(end + 2);
      const field = (name: string) =>
        lines
          .filter((line) => line.startsWith(`${name}:`))
          .map((line) => line.slice(name.length + 1).replace(/^ /, ''))
          .join('\n');
      const data = field('data');
      if (data !== '') yield { event: field('event') || 'message', data };
    }
  }
}
