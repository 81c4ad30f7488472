/** The records an access.search body lists, read in the manner of ../body.ts. */
import type { JsonValue } from '../../crypto/index.js';
import type { JsonObject } from '../../ledger/index.js';
import { booleanField, countField, onlyFields, RECORD_ID_PATTERN, stringField } from '../body.js';
import { RECORD_VERSION_MAX, SEARCH_RECORD_COUNT_MAX } from '../../ledger/index.js';

/** One listed record as the body names it. */
export interface ListedRecord {
  readonly recordId: string;
  readonly version: number;
  readonly released: boolean;
}

/** The listed records, or undefined when the list is malformed, empty, too long or names a record twice. */
export function listedRecordsOf(value: JsonValue | undefined): ListedRecord[] | undefined {
  if (!Array.isArray(value) || value.length === 0 || value.length > SEARCH_RECORD_COUNT_MAX)
    return undefined;
  const listed: ListedRecord[] = [];
  const seen = new Set<string>();
  for (const item of value) {
    if (
      item === null ||
      typeof item !== 'object' ||
      Array.isArray(item) ||
      !onlyFields(item, ['recordId', 'version', 'released'])
    )
      return undefined;
    const body = item as JsonObject;
    const recordId = stringField(body, 'recordId', RECORD_ID_PATTERN);
    const version = countField(body, 'version');
    const released = booleanField(body, 'released');
    if (
      recordId === undefined ||
      version === undefined ||
      version < 1 ||
      version > RECORD_VERSION_MAX ||
      released === undefined ||
      seen.has(recordId)
    )
      return undefined;
    seen.add(recordId);
    listed.push({ recordId, version, released });
  }
  return listed;
}
