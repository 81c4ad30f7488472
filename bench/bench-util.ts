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
