import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  canonicalBytes,
  fromUtf8,
  publicKeyFromRaw,
  signingKeyFromSeed,
  utf8,
} from '../crypto/index.js';
import {
  blockHashOf,
  signHeader,
  txRootOf,
  verifyHeaderSignature,
  GENESIS_PREV_HASH,
  type Block,
} from './block.js';
import {
  BlockFormatError,
  checkHeader,
  decodeBlock,
  encodeBlock,
  encodeBlockParts,
} from './block-codec.js';
import { BLOCK_TX_COUNT_MAX } from './limits.js';
import { encodeTransaction, signTransaction, type Transaction } from './transaction.js';

const PROPOSER = signingKeyFromSeed(new Uint8Array(32).fill(1));
const PATIENT = signingKeyFromSeed(new Uint8Array(32).fill(2));
const TXS: Transaction[] = [
  signTransaction(
    {
      type: 'membership.register-patient',
      nonce: 1,
      body: { patientId: 'patient-0001', custody: 'self' },
    },
    PROPOSER,
  ),
  signTransaction({ type: 'membership.vote', nonce: 2, body: { approve: true } }, PROPOSER),
  signTransaction({ type: 'consent.grant', nonce: 1, body: { scope: ['Observation'] } }, PATIENT),
];
const STATUSES = ['ok', 'denied:no-such-proposal', 'invalid:unknown-type'] as const;

function makeBlock(
  txs: readonly Transaction[] = TXS,
  statuses: readonly string[] = STATUSES,
): Block {
  const header = signHeader(
    {
      height: 7,
      prevHash: 'ab'.repeat(32),
      time: 1_700_000_000_000,
      txRoot: txRootOf(txs.map(encodeTransaction)),
      logSize: 40 + txs.length,
      logRoot: 'cd'.repeat(32),
      appHash: 'ef'.repeat(32),
      proposer: PROPOSER.keyId,
    },
    PROPOSER,
  );
  return {
    header,
    txs: txs.map((tx, i) => ({ tx, status: statuses[i] as Block['txs'][number]['status'] })),
  };
}

const BLOCK = makeBlock();
/** The block as a mutable parsed value, so a test can break one part of it. */
const parsed = (): { header: Record<string, unknown>; txs: Record<string, unknown>[] } & Record<
  string,
  unknown
> => JSON.parse(fromUtf8(encodeBlock(BLOCK)));

function assertFormatError(input: unknown, field: string | RegExp): void {
  assert.throws(
    () => decodeBlock(input),
    (error: unknown) => {
      assert.ok(
        error instanceof BlockFormatError,
        `expected BlockFormatError, got ${String(error)}`,
      );
      if (typeof field === 'string') assert.equal(error.field, field, error.message);
      else assert.match(error.field, field, error.message);
      assert.ok(error.message.startsWith(`${error.field}: `), error.message);
      return true;
    },
  );
}

describe('encodeBlock and decodeBlock', () => {
  test('round trip of a signed block, from bytes and from a parsed value', () => {
    const bytes = encodeBlock(BLOCK);
    for (const input of [bytes, JSON.parse(fromUtf8(bytes)) as unknown]) {
      const decoded = decodeBlock(input);
      assert.deepEqual(decoded.block, BLOCK);
      assert.deepEqual(encodeBlock(decoded.block), bytes);
      assert.deepEqual(
        decoded.txs.map((tx) => tx.bytes),
        TXS.map(encodeTransaction),
      );
      assert.equal(txRootOf(decoded.txs.map((tx) => tx.bytes)), BLOCK.header.txRoot);
      assert.equal(blockHashOf(decoded.block.header), blockHashOf(BLOCK.header));
      assert.equal(
        verifyHeaderSignature(decoded.block.header, publicKeyFromRaw(PROPOSER.publicKey)),
        true,
      );
    }
  });

  test('the encoding is canonical: whitespace and member order on the wire do not change it', () => {
    const value = parsed();
    const shuffled = {
      txs: value.txs.map((entry) => ({ status: entry['status'], tx: entry['tx'] })),
      header: Object.fromEntries(Object.entries(value.header).reverse()),
    };
    const decoded = decodeBlock(utf8(JSON.stringify(shuffled, null, 2)));
    assert.deepEqual(encodeBlock(decoded.block), encodeBlock(BLOCK));
  });

  test('a transaction given as its stored bytes decodes only when those bytes are canonical', () => {
    const entries = BLOCK.txs.map(({ tx, status }) => ({ tx: encodeTransaction(tx), status }));
    const decoded = decodeBlock({ header: BLOCK.header, txs: entries });
    assert.deepEqual(decoded.block, BLOCK);
    const spaced = utf8(fromUtf8(entries[1]!.tx).replace('{"body":', '{ "body":'));
    assert.throws(
      () => decodeBlock({ header: BLOCK.header, txs: [entries[0], { ...entries[1], tx: spaced }] }),
      (error: unknown) =>
        error instanceof BlockFormatError &&
        error.field === 'txs[1].tx' &&
        /canonical/.test(error.message),
    );
  });

  test('an empty genesis-like block round-trips', () => {
    const header = signHeader(
      {
        height: 0,
        prevHash: GENESIS_PREV_HASH,
        time: 0,
        txRoot: txRootOf([]),
        logSize: 0,
        logRoot: txRootOf([]),
        appHash: '00'.repeat(32),
        proposer: PROPOSER.keyId,
      },
      PROPOSER,
    );
    const decoded = decodeBlock(encodeBlock({ header, txs: [] }));
    assert.deepEqual(decoded.block, { header, txs: [] });
    assert.deepEqual(decoded.txs, []);
  });

  test('the signature covers every header field but sig itself', () => {
    const key = publicKeyFromRaw(PROPOSER.publicKey);
    for (const field of ['height', 'time', 'logSize'] as const) {
      assert.equal(
        verifyHeaderSignature({ ...BLOCK.header, [field]: BLOCK.header[field] + 1 }, key),
        false,
        field,
      );
    }
    for (const field of ['prevHash', 'txRoot', 'logRoot', 'appHash'] as const) {
      assert.equal(
        verifyHeaderSignature({ ...BLOCK.header, [field]: '00'.repeat(32) }, key),
        false,
        field,
      );
    }
    assert.equal(verifyHeaderSignature(BLOCK.header, publicKeyFromRaw(PATIENT.publicKey)), false);
  });

  test('property: any list of well-formed entries round-trips', () => {
    const status = fc.oneof(
      fc.constant('ok'),
      fc.stringMatching(/^(denied|invalid):[a-z0-9-]{1,64}$/),
    );
    const entry = fc.record({
      nonce: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
      text: fc.string({ maxLength: 20 }),
      status,
    });
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 6 }), (entries) => {
        const txs = entries.map(({ nonce, text }) =>
          signTransaction({ type: 'a.b', nonce, body: { text } }, PROPOSER),
        );
        const block = makeBlock(
          txs,
          entries.map((e) => e.status),
        );
        const decoded = decodeBlock(encodeBlock(block));
        assert.deepEqual(decoded.block, block);
        assert.deepEqual(encodeBlock(decoded.block), encodeBlock(block));
        const parts = block.txs.map(({ tx, status }) => ({ bytes: encodeTransaction(tx), status }));
        assert.deepEqual(
          new Uint8Array(encodeBlockParts(block.header, parts)),
          new Uint8Array(encodeBlock(block)),
          'the fast encoder agrees with JCS',
        );
      }),
      { numRuns: 50 },
    );
  });
});

describe('decodeBlock refuses malformed blocks with BlockFormatError naming the field', () => {
  const headerCases: readonly [string, unknown][] = [
    ['height', -1],
    ['height', 1.5],
    ['height', '7'],
    ['height', 2 ** 53],
    ['height', null],
    ['time', -5],
    ['time', 1e300],
    ['time', '1700000000000'],
    ['logSize', -1],
    ['logSize', 0.5],
    ['logSize', true],
    ['prevHash', 'AB'.repeat(32)],
    ['prevHash', 'ab'.repeat(31)],
    ['prevHash', 'ab'.repeat(33)],
    ['prevHash', 7],
    ['txRoot', 'zz'.repeat(32)],
    ['logRoot', ''],
    ['appHash', null],
    ['proposer', 'ab'.repeat(64)],
    ['sig', 'ab'.repeat(32)],
    ['sig', 'AB'.repeat(64)],
    ['sig', 12],
  ];
  for (const [field, value] of headerCases) {
    test(`header.${field} = ${JSON.stringify(value)}`, () => {
      const block = parsed();
      block.header[field] = value;
      assertFormatError(block, `header.${field}`);
    });
  }

  test('header missing, not an object, missing a field, or with an extra field', () => {
    const { header: _, ...headless } = parsed();
    assertFormatError(headless, 'header');
    for (const header of [null, [], 'header', 7])
      assertFormatError({ ...parsed(), header }, 'header');
    for (const field of Object.keys(BLOCK.header)) {
      const block = parsed();
      delete block.header[field];
      assertFormatError(block, 'header');
    }
    for (const extra of ['version', 'chainId', '__proto__']) {
      const block = parsed();
      Object.defineProperty(block.header, extra, {
        value: 1,
        enumerable: true,
        configurable: true,
        writable: true,
      });
      assertFormatError(block, 'header');
      assert.throws(() => checkHeader(block.header), BlockFormatError);
    }
  });

  test('bad status strings', () => {
    for (const status of [
      '',
      'OK',
      'ok ',
      'denied',
      'denied:',
      'denied:No-Consent',
      'invalid:bad_signature',
      'rejected:x',
      `denied:${'a'.repeat(65)}`,
      null,
      0,
      ['ok'],
    ]) {
      const block = parsed();
      block.txs[1]!['status'] = status;
      assertFormatError(block, 'txs[1].status');
    }
  });

  test('a malformed transaction inside the block', () => {
    const block = parsed();
    (block.txs[2]!['tx'] as Record<string, unknown>)['nonce'] = 0;
    assertFormatError(block, 'txs[2].tx');
    const missing = parsed();
    missing.txs[0] = { status: 'ok' };
    assertFormatError(missing, 'txs[0].tx');
    for (const entry of [null, 7, 'tx'])
      assertFormatError({ ...parsed(), txs: [entry] }, 'txs[0].tx');
  });

  test('a sparse txs array: a hole is a missing transaction, not a shorter block', () => {
    const value = parsed();
    assertFormatError({ ...value, txs: [value.txs[0], , value.txs[2]] }, 'txs[1].tx');
    assertFormatError({ ...value, txs: new Array(2) }, 'txs[0].tx');
  });

  test('txs missing, not an array, or more than BLOCK_TX_COUNT_MAX', () => {
    const { txs: _, ...txless } = parsed();
    assertFormatError(txless, 'txs');
    assertFormatError({ ...parsed(), txs: {} }, 'txs');
    const entry = parsed().txs[0]!;
    assert.equal(
      decodeBlock({ ...parsed(), txs: new Array(BLOCK_TX_COUNT_MAX).fill(entry) }).txs.length,
      BLOCK_TX_COUNT_MAX,
    );
    assertFormatError({ ...parsed(), txs: new Array(BLOCK_TX_COUNT_MAX + 1).fill(entry) }, 'txs');
  });

  test('bytes that are not a UTF-8 JSON object', () => {
    for (const bytes of [
      utf8('{"header":'),
      Uint8Array.from([0x7b, 0xff, 0x7d]),
      utf8('[]'),
      utf8('null'),
      utf8('"block"'),
    ])
      assertFormatError(bytes, 'block');
    assert.deepEqual(decodeBlock(canonicalBytes(BLOCK)).block, BLOCK);
  });

  test('property: decodeBlock either decodes or throws BlockFormatError, never anything else', () => {
    const check = (input: unknown): void => {
      let decoded;
      try {
        decoded = decodeBlock(input);
      } catch (error) {
        assert.ok(error instanceof BlockFormatError, String(error));
        return;
      }
      // Whatever is accepted must be a whole block: one decoded tx per entry, and encodable.
      assert.equal(decoded.block.txs.length, decoded.txs.length);
      assert.deepEqual(decodeBlock(encodeBlock(decoded.block)).block, decoded.block);
    };
    fc.assert(
      fc.property(
        fc.anything({ withNullPrototype: true, withBigInt: true, withSparseArray: true }),
        check,
      ),
      { numRuns: 200 },
    );
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), check), { numRuns: 200 });
    fc.assert(
      fc.property(
        fc.constantFrom('header', 'txs'),
        fc.anything({ withNullPrototype: true, withSparseArray: true }),
        (field, value) => check({ ...parsed(), [field]: value }),
      ),
      { numRuns: 200 },
    );
  });
});
