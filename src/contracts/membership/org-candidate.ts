/** An organisation as a genesis body lists it and an admission proposes it. */
import type { JsonObject } from '../../ledger/index.js';
import { hex32Field, idField, onlyFields, textField } from '../body.js';
import { MEMBER_COUNT_MAX, ORG_NAME_LENGTH_MAX } from '../../ledger/index.js';

/** A founding or proposed organisation. */
export interface OrgCandidate {
  orgId: string;
  name: string;
  signingKey: string;
  encryptionKey: string;
}

/** Parses one organisation description; undefined when malformed. */
export function orgCandidate(
  value: JsonObject,
  extraFields: readonly string[] = [],
): OrgCandidate | undefined {
  if (!onlyFields(value, ['orgId', 'name', 'signingKey', 'encryptionKey', ...extraFields]))
    return undefined;
  const orgId = idField(value, 'orgId');
  const name = textField(value, 'name', ORG_NAME_LENGTH_MAX);
  const signingKey = hex32Field(value, 'signingKey');
  const encryptionKey = hex32Field(value, 'encryptionKey');
  if (
    orgId === undefined ||
    name === undefined ||
    signingKey === undefined ||
    encryptionKey === undefined
  )
    return undefined;
  return { orgId, name, signingKey, encryptionKey };
}

/** The founding organisations of a genesis body, or undefined when the body is malformed or has duplicates. */
export function genesisOrgs(body: JsonObject): OrgCandidate[] | undefined {
  const orgs = body['orgs'];
  if (!Array.isArray(orgs) || orgs.length === 0 || orgs.length > MEMBER_COUNT_MAX) return undefined;
  const parsed: OrgCandidate[] = [];
  for (const value of orgs) {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
    const org = orgCandidate(value);
    if (org === undefined) return undefined;
    parsed.push(org);
  }
  const ids = new Set(parsed.map((org) => org.orgId));
  const keys = new Set(parsed.map((org) => org.signingKey));
  return ids.size === parsed.length && keys.size === parsed.length ? parsed : undefined;
}
