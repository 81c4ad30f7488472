/**
 * Checks `node.json` as it is read, field by field: an operator's typo stops the node with one
 * line per bad field, naming it, instead of surfacing later as a confusing failure.
 */
import { ID_PATTERN } from '../contracts/index.js';

/** `node.json` holds something other than a node configuration; `problems` names each bad field. */
export class NodeConfigError extends Error {
  constructor(
    readonly file: string,
    readonly problems: readonly string[],
  ) {
    super(
      `${file} is not a valid node configuration:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`,
    );
    this.name = 'NodeConfigError';
  }
}

type Fields = Record<string, unknown>;

const HEX_HASH = /^[0-9a-f]{64}$/;
/** Printable, 1–128 characters: the names genesis files and etcd key spaces carry. */
const NAME = /^[^\u0000-\u001f\u007f]{1,128}$/;

/** The problems with `value` as a node configuration, each naming its field; empty when it is good. */
export function nodeConfigProblems(value: unknown): string[] {
  if (!isObject(value)) return ['the file must hold a JSON object'];
  const problems: string[] = [];
  const need = (ok: boolean, problem: string): void => {
    if (!ok) problems.push(problem);
  };
  // A node that has joined no network yet (no genesisHash) has no network name either.
  const awaitsGenesis = value['genesisHash'] === undefined && value['network'] === '';
  need(
    awaitsGenesis || (typeof value['network'] === 'string' && NAME.test(value['network'])),
    'network must be a name of 1–128 printable characters',
  );
  need(
    typeof value['orgId'] === 'string' && ID_PATTERN.test(value['orgId']),
    'orgId must be 2–64 lowercase letters, digits or dashes',
  );
  need(
    typeof value['orgName'] === 'string' && value['orgName'].length > 0,
    'orgName must be a non-empty string',
  );
  need(
    value['genesisHash'] === undefined ||
      (typeof value['genesisHash'] === 'string' && HEX_HASH.test(value['genesisHash'])),
    'genesisHash must be 64 lowercase hex digits',
  );
  problems.push(...peersProblems(value['peers']));
  problems.push(...ordererProblems(value['orderer']));
  return problems;
}

function peersProblems(peers: unknown): string[] {
  if (peers === undefined) return [];
  if (!isObject(peers)) return ['peers must be an object of organisation id → URL'];
  return Object.keys(peers)
    .sort()
    .filter((orgId) => !isHttpUrl(peers[orgId]))
    .map((orgId) => `peers.${orgId} must be an http:// or https:// URL`);
}

/** Absent fields take the solo defaults; present ones must be of the right kind. */
function ordererProblems(orderer: unknown): string[] {
  if (orderer === undefined) return [];
  if (!isObject(orderer)) return ['orderer must be an object'];
  const problems: string[] = [];
  const { kind, endpoints, namespace, leaseTtlSec } = orderer;
  if (kind !== undefined && kind !== 'solo' && kind !== 'etcd')
    problems.push(`orderer.kind must be "solo" or "etcd", not ${JSON.stringify(kind)}`);
  if (endpoints !== undefined && !(Array.isArray(endpoints) && endpoints.every(isHttpUrl)))
    problems.push('orderer.endpoints must be a list of http:// or https:// URLs');
  if (kind === 'etcd' && !(Array.isArray(endpoints) && endpoints.length > 0))
    problems.push(
      'orderer.endpoints must name at least one etcd member when orderer.kind is "etcd"',
    );
  if (namespace !== undefined && !(typeof namespace === 'string' && NAME.test(namespace)))
    problems.push('orderer.namespace must be a name of 1–128 printable characters');
  if (leaseTtlSec !== undefined && !isCount(leaseTtlSec, 1))
    problems.push('orderer.leaseTtlSec must be a whole number of seconds, at least 1');
  for (const field of ['blockTxCountMax', 'batchTimeoutMs', 'pendingTxCountMax'] as const) {
    if (
      orderer[field] !== undefined &&
      !isCount(orderer[field], field === 'batchTimeoutMs' ? 0 : 1)
    )
      problems.push(
        `orderer.${field} must be a whole number, at least ${field === 'batchTimeoutMs' ? 0 : 1}`,
      );
  }
  return problems;
}

function isObject(value: unknown): value is Fields {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function isCount(value: unknown, min: number): boolean {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= min;
}

function isHttpUrl(value: unknown): boolean {
  if (typeof value !== 'string') return false;
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}
