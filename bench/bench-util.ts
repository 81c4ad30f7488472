/** Small helpers shared by benchmarks. */
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
export { fromHex, generateSigningKey, sign, toHex, utf8, VerifyPool } from '../src/crypto/index.js';

/** `bytes` random bytes as hex: benchmark payloads that nobody verifies as keys. */
export function randomHex(bytes: number): string {
  return randomBytes(bytes).toString('hex');
}

/** The `p`th percentile of ascending `sorted` (nearest rank). */
export function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Watches this process's event-loop delay until stop(), which returns its p99 in ms. */
export function watchEventLoopDelay(): { stop(): number } {
  const histogram = monitorEventLoopDelay({ resolution: 5 });
  histogram.enable();
  return {
    stop: () => {
      histogram.disable();
      return Number((histogram.percentile(99) / 1e6).toFixed(2));
    },
  };
}

/** The p99, in ms, of `count` fsyncs of a small file rewritten in `dir`: the disk's floor for one durable write. */
export function fsyncP99Ms(dir: string, count = 200): number {
  const path = join(dir, 'fsync-probe');
  const fd = openSync(path, 'w', 0o600);
  const times: number[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const started = performance.now();
      writeSync(fd, randomBytes(64), 0, 64, 0);
      fsyncSync(fd);
      times.push(performance.now() - started);
    }
  } finally {
    closeSync(fd);
    rmSync(path, { force: true });
  }
  return Number(
    percentile(
      times.sort((a, b) => a - b),
      99,
    ).toFixed(2),
  );
}

/** How long ledger work held the event loop, from the node's /metrics histogram. */
export interface LedgerTurns {
  /** Turns of ledger work (all kinds) between the two scrapes. */
  readonly turns: number;
  /** The share of them that held the event loop for more than 1 ms. */
  readonly over1msShare: number;
  /** The histogram bucket (its upper bound, in ms) holding the p99 turn; null past the last, or with no turns. */
  readonly p99AtMostMs: number | null;
  /** Per kind of work: turns, and the share over 1 ms. */
  readonly byWork: Record<string, { turns: number; over1msShare: number }>;
}

type TurnBuckets = Map<string, Map<number, number>>;

/** Scrapes `${url}/metrics` now and at stop(), and compares the ledger-turn histogram's counts. */
export async function watchLedgerTurns(url: string): Promise<{ stop(): Promise<LedgerTurns> }> {
  const before = await scrapeTurnBuckets(url);
  return {
    stop: async () => {
      const after = await scrapeTurnBuckets(url);
      const counted = (work: string | undefined, bound: number): number => {
        let sum = 0;
        for (const [kind, buckets] of after)
          if (work === undefined || kind === work)
            sum += buckets.get(bound)! - (before.get(kind)?.get(bound) ?? 0);
        return sum;
      };
      const over1ms = (work?: string): number => {
        const turns = counted(work, Infinity);
        return turns === 0 ? 0 : Number((1 - counted(work, 0.001) / turns).toFixed(4));
      };
      const turns = counted(undefined, Infinity);
      const bounds = [...(after.values().next().value?.keys() ?? [])].sort((a, b) => a - b);
      const p99Bound =
        turns === 0 ? undefined : bounds.find((bound) => counted(undefined, bound) >= 0.99 * turns);
      const byWork = Object.fromEntries(
        [...after.keys()].map((work) => [
          work,
          { turns: counted(work, Infinity), over1msShare: over1ms(work) },
        ]),
      );
      return {
        turns,
        over1msShare: over1ms(),
        p99AtMostMs: p99Bound === undefined || p99Bound === Infinity ? null : p99Bound * 1000,
        byWork,
      };
    },
  };
}

/** Cumulative turn counts by kind of work and bucket bound (seconds). */
async function scrapeTurnBuckets(url: string): Promise<TurnBuckets> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const byWork: TurnBuckets = new Map();
  for (const [, labels, count] of text.matchAll(
    /^chartchain_ledger_turn_duration_seconds_bucket\{([^}]*)\} (\d+)$/gm,
  )) {
    const le = /le="([^"]+)"/.exec(labels!)![1]!;
    const work = /work="([^"]+)"/.exec(labels!)![1]!;
    const buckets = byWork.get(work) ?? new Map<number, number>();
    byWork.set(work, buckets.set(le === '+Inf' ? Infinity : Number(le), Number(count)));
  }
  return byWork;
}
