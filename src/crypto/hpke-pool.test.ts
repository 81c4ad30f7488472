import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, test } from 'node:test';
import fc from 'fast-check';
import { HpkeError } from './hpke.js';
import { recordAad, unwrapDataKey, wrapDataKey } from './record-envelope.js';
import { HpkePool } from './hpke-pool.js';
import { generateX25519 } from './x25519.js';
import { toHex } from './bytes.js';

const pool = new HpkePool(1);
after(() => pool.close());
const reader = generateX25519();
const other = generateX25519();

function itemFor(key: typeof reader, envelope: ReturnType<typeof wrapDataKey>, aad: Uint8Array) {
  return { envelope, recipient: toHex(key.publicKey), privateKey: key.privateKey, aad };
}

test('the pool opens exactly what wrapDataKey sealed, as unwrapDataKey does, many in one turn', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(
        fc.tuple(
          fc.uint8Array({ minLength: 32, maxLength: 32 }),
          fc.string(),
          fc.integer({ min: 1, max: 99 }),
        ),
        { minLength: 1, maxLength: 40 },
      ),
      async (cases) => {
        const items = cases.map(([dataKey, recordId, version]) => {
          const aad = recordAad({
            recordId: `r-${recordId}`,
            version,
            resourceType: 'Observation',
          });
          return {
            dataKey,
            item: itemFor(reader, wrapDataKey(dataKey, reader.publicKey, aad), aad),
          };
        });
        const opened = await Promise.all(items.map(({ item }) => pool.unwrap(item)));
        items.forEach(({ dataKey, item }, i) => {
          assert.deepEqual(opened[i], dataKey);
          assert.deepEqual(opened[i], unwrapDataKey(item.envelope, item.privateKey, item.aad));
        });
      },
    ),
    { numRuns: 20 },
  );
});

test('what does not open is an HpkeError, and the rest of the batch still opens', async () => {
  const dataKey = randomBytes(32);
  const aad = recordAad({ recordId: 'r-1', version: 1, resourceType: 'Observation' });
  const envelope = wrapDataKey(dataKey, reader.publicKey, aad);
  const flipped = {
    ...envelope,
    wrappedKey: (envelope.wrappedKey[0] === 'a' ? 'b' : 'a') + envelope.wrappedKey.slice(1),
  };
  const otherAad = recordAad({ recordId: 'r-2', version: 1, resourceType: 'Observation' });
  const results = await Promise.allSettled([
    pool.unwrap(itemFor(reader, envelope, aad)),
    pool.unwrap(itemFor(other, envelope, aad)),
    pool.unwrap(itemFor(reader, envelope, otherAad)),
    pool.unwrap(itemFor(reader, flipped, aad)),
    pool.unwrap(itemFor(reader, { ...envelope, enc: 'zz' }, aad)),
  ]);
  assert.deepEqual(results[0], { status: 'fulfilled', value: new Uint8Array(dataKey) });
  for (const result of results.slice(1)) {
    assert.equal(result.status, 'rejected');
    assert.ok(
      result.status === 'rejected' && result.reason instanceof HpkeError,
      String(result.status === 'rejected' && result.reason),
    );
  }
});

test('what the pool wraps, unwrapDataKey opens; a malformed recipient or data key is refused before the worker', async () => {
  const dataKey = randomBytes(32);
  const aad = recordAad({ recordId: 'r-3', version: 2, resourceType: 'Condition' });
  const envelopes = await Promise.all([
    pool.wrap(dataKey, toHex(reader.publicKey), aad),
    pool.wrap(dataKey, toHex(other.publicKey), aad),
  ]);
  assert.deepEqual(unwrapDataKey(envelopes[0]!, reader.privateKey, aad), new Uint8Array(dataKey));
  assert.deepEqual(unwrapDataKey(envelopes[1]!, other.privateKey, aad), new Uint8Array(dataKey));
  assert.notEqual(envelopes[0]!.enc, envelopes[1]!.enc, 'a fresh ephemeral key per wrap');
  assert.throws(() => unwrapDataKey(envelopes[0]!, other.privateKey, aad), HpkeError);
  await assert.rejects(pool.wrap(dataKey, 'ab', aad), RangeError);
  await assert.rejects(pool.wrap(randomBytes(16), toHex(reader.publicKey), aad), RangeError);
  await assert.rejects(pool.wrap(dataKey, '00'.repeat(32), aad), HpkeError, 'a low-order key');
});

test('answers come back as they are ready: the first wrap of a large turn resolves while the last is still being computed', async () => {
  const aad = recordAad({ recordId: 'r-4', version: 1, resourceType: 'Observation' });
  // A thousand wraps are hundreds of milliseconds of work: longer than any pause of this thread.
  const wraps = Array.from({ length: 1000 }, () =>
    pool.wrap(randomBytes(32), toHex(reader.publicKey), aad),
  );
  let lastDone = false;
  void wraps.at(-1)!.then(() => (lastDone = true));
  const first = await wraps[0]!;
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(lastDone, false, 'the last of 1,000 wraps is not done yet');
  const all = await Promise.all(wraps);
  assert.deepEqual(all[0], first);
  const opened = all.map((envelope) => unwrapDataKey(envelope, reader.privateKey, aad));
  assert.equal(opened.length, 1000);
});
