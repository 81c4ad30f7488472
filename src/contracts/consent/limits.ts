/** Bounds on what the consent contract accepts. */

/** Grants one patient may hold, active or revoked: bounds the scan on every write and read decision. */
export const GRANT_COUNT_MAX = 64;
/** Entries in each list of a grant's terms (resource types, record ids, labels, purposes), and of a restriction's (resource types, labels, practitioners). */
export const GRANT_LIST_COUNT_MAX = 32;
/** Restrictions one patient may hold, active or lifted: bounds the scan on every home-organisation read. */
export const RESTRICTION_COUNT_MAX = 64;
