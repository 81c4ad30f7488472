import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isNoteText } from './break-the-glass-api.js';
import { BTG_REASON_LENGTH_MAX } from '../ledger/index.js';

test('a break-the-glass note is one line of ordinary text: no controls, separators, lone surrogates or direction overrides', () => {
  for (const good of [
    'unconscious on arrival',
    'Patientin bewusstlos, Verdacht auf Überdosis',
    '意識不明',
    'suspected overdose 💊',
    'x'.repeat(BTG_REASON_LENGTH_MAX),
  ])
    assert.equal(isNoteText(good), true, good);
  const bad = [
    '',
    '   ',
    'x'.repeat(BTG_REASON_LENGTH_MAX + 1),
    'a\nb',
    'a\tb',
    'a\u0085b',
    'a\u2028b',
    'a\u2029b',
    'reason\u202egnp.exe',
    'a\u2066b\u2069',
    'a\ud800b',
    'a\u007fb',
  ];
  for (const text of bad) assert.equal(isNoteText(text), false, JSON.stringify(text));
});
