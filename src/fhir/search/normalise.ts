/**
 * Normal forms that index rows and search values share, so that one comparison in SQL decides a
 * match: folded strings for string search (R4 search.html#string) and 'Type/id' references
 * (R4 search.html#reference).
 */

/** Letters that carry no combining mark in Unicode, so NFD alone cannot fold them. */
const FOLDED_LETTERS: Readonly<Record<string, string>> = {
  ø: 'o',
  ł: 'l',
  đ: 'd',
  ð: 'd',
  þ: 'th',
  æ: 'ae',
  œ: 'oe',
  ß: 'ss',
  ı: 'i',
};

/**
 * `text` folded for case- and accent-insensitive matching: compatibility-decomposed, combining
 * marks removed, lowercased. 'Adán' and 'ADAN' both become 'adan'.
 */
export function foldString(text: string): string {
  const stripped = text.normalize('NFKD').replace(/\p{M}/gu, '').toLowerCase();
  return stripped.replace(/[øłđðþæœßı]/g, (letter) => FOLDED_LETTERS[letter]!);
}

/** A reference as the index stores it: 'Type/id' when it names one, else the literal text. */
export interface NormalisedReference {
  readonly reference: string;
  readonly type: string | null;
  readonly id: string | null;
}

const TYPE_AND_ID =
  /(?:^|\/)([A-Z][A-Za-z]{1,63})\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[A-Za-z0-9\-.]{1,64})?$/;

/**
 * `reference` as 'Type/id': a relative reference, an absolute URL ending in [Type]/[id] or
 * either with a /_history/[vid] suffix. Anything else (urn:uuid:…, a conditional reference, a
 * fragment) keeps its literal text and has no type or id.
 */
export function normaliseReference(reference: string): NormalisedReference {
  const match = TYPE_AND_ID.exec(reference);
  if (match === null || reference.includes('?') || reference.startsWith('#'))
    return { reference, type: null, id: null };
  return { reference: `${match[1]!}/${match[2]!}`, type: match[1]!, id: match[2]! };
}

/** True when `text` is a FHIR id (R4 datatypes.html#id). */
export function isFhirId(text: string): boolean {
  return /^[A-Za-z0-9\-.]{1,64}$/.test(text);
}
