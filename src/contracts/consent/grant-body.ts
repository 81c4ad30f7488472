/** Reading a grant's or a restriction's terms out of a transaction body, refusing any shape it does not expect, and writing them into one. */
import type { JsonObject } from '../../ledger/index.js';
import {
  CODE_PATTERN,
  countField,
  enumField,
  ID_PATTERN,
  objectField,
  RECORD_ID_PATTERN,
  RESOURCE_TYPE_PATTERN,
  stringField,
  stringSetField,
} from '../body.js';
import {
  CONSENT_ACTIONS,
  type ConsentAction,
  type Grantee,
  type GrantTerms,
  type RestrictionTerms,
} from './tables.js';
import { GRANT_LIST_COUNT_MAX } from '../../ledger/index.js';

/** The fields of a grant body besides its id. */
export const TERM_FIELDS = [
  'grantee',
  'actions',
  'resourceTypes',
  'recordIds',
  'excludeLabels',
  'purposes',
  'period',
] as const;

/** The terms in `body`, or undefined when any is missing or malformed. */
export function grantTerms(body: JsonObject): GrantTerms | undefined {
  const grantee = granteeField(body);
  const actions = stringSetField(body, 'actions', /^(read|write)$/, CONSENT_ACTIONS.length) as
    ConsentAction[] | undefined;
  const resourceTypes = stringSetField(
    body,
    'resourceTypes',
    RESOURCE_TYPE_PATTERN,
    GRANT_LIST_COUNT_MAX,
  );
  const recordIds = stringSetField(body, 'recordIds', RECORD_ID_PATTERN, GRANT_LIST_COUNT_MAX);
  const excludeLabels = stringSetField(body, 'excludeLabels', CODE_PATTERN, GRANT_LIST_COUNT_MAX);
  const purposes = stringSetField(body, 'purposes', CODE_PATTERN, GRANT_LIST_COUNT_MAX);
  const period = periodField(body);
  if (
    grantee === undefined ||
    actions === undefined ||
    actions.length === 0 ||
    resourceTypes === undefined ||
    recordIds === undefined
  )
    return undefined;
  if (
    excludeLabels === undefined ||
    purposes === undefined ||
    purposes.length === 0 ||
    period === undefined
  )
    return undefined;
  return { grantee, actions, resourceTypes, recordIds, excludeLabels, purposes, period };
}

function granteeField(body: JsonObject): Grantee | undefined {
  const value = objectField(body, 'grantee');
  if (value === undefined || Object.keys(value).length !== 2) return undefined;
  const kind = enumField(value, 'kind', ['practitioner', 'organisation'] as const);
  const id = stringField(value, 'id', ID_PATTERN);
  return kind === undefined || id === undefined ? undefined : { kind, id };
}

/** { start, end }: integer ms, end null (open-ended) or after start. */
export function periodField(body: JsonObject): { start: number; end: number | null } | undefined {
  const value = objectField(body, 'period');
  if (value === undefined || !Object.keys(value).every((key) => key === 'start' || key === 'end'))
    return undefined;
  const start = countField(value, 'start');
  const end = value['end'] === null ? null : countField(value, 'end');
  if (start === undefined || end === undefined || (end !== null && end <= start)) return undefined;
  return { start, end };
}

/** The body fields that carry `terms`: what grantTerms reads back. */
export function termsBody(terms: GrantTerms): JsonObject {
  return {
    grantee: { ...terms.grantee },
    actions: [...terms.actions],
    resourceTypes: [...terms.resourceTypes],
    recordIds: [...terms.recordIds],
    excludeLabels: [...terms.excludeLabels],
    purposes: [...terms.purposes],
    period: { ...terms.period },
  };
}

/** The fields of a restriction body besides its id. */
export const RESTRICTION_FIELDS = ['resourceTypes', 'labels', 'practitionerIds'] as const;

/** The terms in a restriction body, or undefined when any list is missing or malformed. */
export function restrictionTerms(body: JsonObject): RestrictionTerms | undefined {
  const resourceTypes = stringSetField(
    body,
    'resourceTypes',
    RESOURCE_TYPE_PATTERN,
    GRANT_LIST_COUNT_MAX,
  );
  const labels = stringSetField(body, 'labels', CODE_PATTERN, GRANT_LIST_COUNT_MAX);
  const practitionerIds = stringSetField(body, 'practitionerIds', ID_PATTERN, GRANT_LIST_COUNT_MAX);
  if (resourceTypes === undefined || labels === undefined || practitionerIds === undefined)
    return undefined;
  return { resourceTypes, labels, practitionerIds };
}

/** The body fields that carry restriction `terms`. */
export function restrictionBody(terms: RestrictionTerms): JsonObject {
  return {
    resourceTypes: [...terms.resourceTypes],
    labels: [...terms.labels],
    practitionerIds: [...terms.practitionerIds],
  };
}
