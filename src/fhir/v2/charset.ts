/**
 * A message's bytes as text, in the character set its MSH-18 names (HL7 table 0211): UTF-8
 * (which ASCII is part of) when it names none, ASCII or UNICODE UTF-8, and ISO 8859-1 for 8859/1.
 * Bytes that are not what it names are refused, never replaced: a name read with U+FFFD in it
 * would be written to the ledger as if it were the patient's.
 */
import { V2MessageError } from './message.js';

const LATIN_1 = new TextDecoder('latin1');
const UTF_8 = new TextDecoder('utf-8', { fatal: true });

/** The character sets taken, by their MSH-18 code (HL7 table 0211) or a common spelling of it, in capitals. */
const DECODERS: Readonly<Record<string, TextDecoder>> = {
  '': UTF_8,
  ASCII: UTF_8,
  'ISO IR6': UTF_8,
  'UNICODE UTF-8': UTF_8,
  'UTF-8': UTF_8,
  UTF8: UTF_8,
  '8859/1': LATIN_1,
  'ISO IR100': LATIN_1,
  'ISO-8859-1': LATIN_1,
};

/** `bytes` decoded as MSH-18 says; throws V2MessageError AR when it names another set or the bytes are not in it. */
export function v2Text(bytes: Uint8Array): string {
  const charset = msh18(LATIN_1.decode(bytes));
  const decoder = Object.hasOwn(DECODERS, charset) ? DECODERS[charset]! : undefined;
  if (decoder === undefined)
    throw new V2MessageError(
      'AR',
      `MSH-18 names a character set not taken here (UTF-8, ASCII or 8859/1)`,
    );
  try {
    return decoder.decode(bytes);
  } catch {
    throw new V2MessageError(
      'AR',
      'the message is not valid UTF-8; name its character set in MSH-18 (8859/1 is taken)',
    );
  }
}

/** MSH-18 of `text`, read without parsing the rest: the first segment, split on its field separator. */
function msh18(text: string): string {
  if (!text.startsWith('MSH') || text.length < 4) return '';
  const segment = text.split(/[\r\n]/, 1)[0]!;
  return (segment.split(text[3]!)[17] ?? '').trim().toUpperCase();
}

/** `bytes` as text for an AR built from them when v2Text refused them: each byte one character. */
export function v2TextAnyway(bytes: Uint8Array): string {
  return LATIN_1.decode(bytes);
}
