/** State writes shared by genesis and admission: an organisation row and its key. */
import { fromHex, keyIdOf } from '../../crypto/index.js';
import type { Write } from '../state.js';
import { KEY_TABLE, ORG_TABLE, type KeyRow, type OrgRow } from './tables.js';

/** Writes that make `org` a member with its signing key registered. */
export function orgWrites(org: OrgRow): Write[] {
  const key: KeyRow = {
    publicKey: org.signingKey,
    role: 'org',
    subject: org.orgId,
    org: org.orgId,
  };
  return [
    { table: ORG_TABLE, key: org.orgId, value: { ...org } },
    { table: KEY_TABLE, key: keyIdOf(fromHex(org.signingKey)), value: { ...key } },
  ];
}
