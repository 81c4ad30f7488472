/**
 * Signing by declared transaction type: a signer takes a schema (src/contracts txs.ts) and the
 * value it builds its body from, so every body this node signs is one its contract parses. A
 * free-form type and body stay possible for what must send other bodies (tests of refusals).
 */
import type { TxBuilder } from '../contracts/index.js';
import type { JsonObject } from '../ledger/index.js';

/**
 * `schema`'s type and the body it builds from `value`, as the arguments of a free-form signer
 * (a host interface that tests stand in for): `host.submitAsOrg(...typedTx(ACCESS_LOG, value))`.
 */
export function typedTx<Body>(
  schema: TxBuilder<Body>,
  value: NoInfer<Body>,
): [type: string, body: JsonObject] {
  return [schema.type, schema.build(value)];
}

/** The type and body a signer signs: `body` as given for a type name, or built by the schema. */
export function typeAndBody(
  typeOrSchema: string | TxBuilder<never>,
  body: unknown,
): { type: string; body: JsonObject } {
  if (typeof typeOrSchema === 'string') return { type: typeOrSchema, body: body as JsonObject };
  return { type: typeOrSchema.type, body: typeOrSchema.build(body as never) };
}
