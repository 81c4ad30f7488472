/**
 * Agreement between nodes (DESIGN.md, State and agreement between nodes). After each commit the
 * node signs `(height, blockHash, appHash)` with its organisation key and publishes it; it
 * verifies and keeps what other organisations publish. A block is final once a majority of
 * member organisations signed identical checkpoints. A checkpoint that disagrees with the
 * majority (or, before there is one, with ours) raises an alarm naming its organisation; a node
 * whose own checkpoint is in the minority halts: its state can no longer be trusted.
 */
import { fromHex, publicKeyFromRaw, type SigningKey } from '../crypto/index.js';
import { CONSORTIUM_KEY, CONSORTIUM, KEYS, ORGS, type StateReader } from '../contracts/index.js';
import type { CheckpointExchange } from '../consensus/index.js';
import {
  blockHashOf,
  checkpointOf,
  signCheckpoint,
  verifyCheckpointSignature,
  type BlockHeader,
  type Checkpoint,
} from '../ledger/index.js';
import type { CheckpointStore } from '../storage/index.js';

/** What checkpointing needs from its node. */
export interface CheckpointHost {
  readonly orgId: string;
  readonly signing: SigningKey;
  /** Committed membership state: who the members are and their keys. */
  readonly state: StateReader;
  alarm(reason: string): void;
  /** A standing condition while this node's checkpoints cannot be published (`reason`), cleared by the next that is (undefined). */
  unpublished(reason: string | undefined): void;
  halt(reason: string): void;
}

/** One organisation's checkpoint at a height, and whether it matches the majority (null: no majority yet). */
export type CountedCheckpoint = Checkpoint & { readonly agrees: boolean | null };

/** The checkpoints of one height, as GET /ledger/checkpoints/:height shows them. */
export interface HeightCheckpoints {
  readonly height: number;
  readonly final: boolean;
  /** Signatures a checkpoint needs to make the block final: a majority of the members. */
  readonly majority: number;
  readonly members: readonly string[];
  readonly checkpoints: readonly CountedCheckpoint[];
}

/** Why a received checkpoint was not counted. */
export type CheckpointRefusal = 'malformed' | 'unknown-signer' | 'bad-signature';

/** A node's checkpoints: signing its own, verifying and tallying everyone's. */
export class NodeCheckpoints {
  readonly #alarmed = new Set<string>();
  readonly #unsubscribe: () => void;
  #closed = false;

  constructor(
    private readonly store: CheckpointStore,
    private readonly exchange: CheckpointExchange,
    private readonly host: CheckpointHost,
  ) {
    this.#unsubscribe = exchange.subscribe((value) => void (this.#closed || this.receive(value)));
  }

  /** Signs, keeps and publishes this node's checkpoint for a block it just committed. */
  committed(header: BlockHeader): Checkpoint {
    const checkpoint = signCheckpoint(
      {
        height: header.height,
        blockHash: blockHashOf(header),
        appHash: header.appHash,
        orgId: this.host.orgId,
      },
      this.host.signing,
    );
    this.store.addOwn(checkpoint, membersOf(this.host.state));
    // The newest checkpoint supersedes the ones before it, so a failed publication is a condition
    // that the next successful one ends, not an alarm that stands for ever.
    this.exchange.publish(checkpoint).then(
      () => this.host.unpublished(undefined),
      (error: unknown) =>
        this.host.unpublished(`checkpoint ${header.height} not published: ${String(error)}`),
    );
    this.#evaluate(header.height);
    return checkpoint;
  }

  /** Verifies and counts a checkpoint from another node; returns why it was refused, if it was. */
  receive(value: unknown): CheckpointRefusal | undefined {
    const checkpoint = checkpointOf(value);
    if (checkpoint === undefined) return 'malformed';
    const publicKey = memberOrgKey(this.host.state, checkpoint);
    if (publicKey === undefined) return 'unknown-signer';
    if (!verifyCheckpointSignature(checkpoint, publicKeyFromRaw(fromHex(publicKey))))
      return 'bad-signature';
    const stored = this.store.add(checkpoint);
    if (typeof stored === 'object')
      this.#alarmOnce(
        `equivocation/${checkpoint.orgId}/${checkpoint.height}`,
        `organisation ${checkpoint.orgId} signed two different checkpoints for height ${checkpoint.height}`,
      );
    else if (stored === 'added') this.#evaluate(checkpoint.height);
    return undefined;
  }

  /**
   * The checkpoints of `height` with the tally. The members who count are those after block
   * `height` as this node committed it; for a block not yet committed here, today's members.
   */
  at(height: number): HeightCheckpoints {
    const members = this.store.membersAt(height) ?? membersOf(this.host.state);
    const majority = Math.floor(members.length / 2) + 1;
    const counted = this.store
      .at(height)
      .filter((checkpoint) => members.includes(checkpoint.orgId));
    const agreed = agreedKey(counted, majority);
    const checkpoints = counted.map((checkpoint) => ({
      ...checkpoint,
      agrees: agreed === undefined ? null : keyOf(checkpoint) === agreed,
    }));
    return { height, final: agreed !== undefined, majority, members, checkpoints };
  }

  /** The highest final height (-1 before any), and each organisation's newest checkpoint. */
  status(): {
    finalisedHeight: number;
    peers: Record<string, { height: number; blockHash: string; appHash: string }>;
  } {
    const peers: Record<string, { height: number; blockHash: string; appHash: string }> = {};
    for (const { orgId, height, blockHash, appHash } of this.store.latestByOrg())
      peers[orgId] = { height, blockHash, appHash };
    return { finalisedHeight: this.store.finalisedHeight, peers };
  }

  /** Stops listening and closes the store. */
  close(): void {
    this.#closed = true;
    this.#unsubscribe();
    this.store.close();
  }

  #evaluate(height: number): void {
    const tally = this.at(height);
    if (tally.final) this.store.markFinal(height);
    const own = tally.checkpoints.find((checkpoint) => checkpoint.orgId === this.host.orgId);
    for (const checkpoint of tally.checkpoints) {
      const disagrees =
        checkpoint.agrees === false ||
        (checkpoint.agrees === null && own !== undefined && keyOf(checkpoint) !== keyOf(own));
      if (!disagrees) continue;
      if (checkpoint.orgId === this.host.orgId) {
        const reason = `own checkpoint at height ${height} is in the minority: a majority of members signed block ${majorityBlockHash(tally)}`;
        this.#alarmOnce(`minority/${height}`, reason);
        this.host.halt(reason);
      } else {
        const against = checkpoint.agrees === false ? 'the majority' : 'ours';
        this.#alarmOnce(
          `disagree/${checkpoint.orgId}/${height}`,
          `organisation ${checkpoint.orgId} signed a checkpoint at height ${height} that disagrees with ${against} (block ${checkpoint.blockHash}, appHash ${checkpoint.appHash})`,
        );
      }
    }
  }

  #alarmOnce(key: string, reason: string): void {
    if (this.#alarmed.has(key)) return;
    this.#alarmed.add(key);
    this.host.alarm(reason);
  }
}

function keyOf(checkpoint: Checkpoint): string {
  return `${checkpoint.blockHash}/${checkpoint.appHash}`;
}

function agreedKey(checkpoints: readonly Checkpoint[], majority: number): string | undefined {
  const counts = new Map<string, number>();
  for (const checkpoint of checkpoints)
    counts.set(keyOf(checkpoint), (counts.get(keyOf(checkpoint)) ?? 0) + 1);
  for (const [key, count] of counts) if (count >= majority) return key;
  return undefined;
}

function majorityBlockHash(tally: HeightCheckpoints): string {
  return tally.checkpoints.find((checkpoint) => checkpoint.agrees === true)?.blockHash ?? 'unknown';
}

function membersOf(state: StateReader): string[] {
  const consortium = CONSORTIUM.get(state, CONSORTIUM_KEY);
  return consortium?.members ?? [];
}

/** The signing key (hex) of the active member organisation `checkpoint` claims, when its signer is that key. */
function memberOrgKey(state: StateReader, checkpoint: Checkpoint): string | undefined {
  const key = KEYS.get(state, checkpoint.signer);
  if (key?.role !== 'org' || key.org !== checkpoint.orgId) return undefined;
  const org = ORGS.get(state, key.org);
  return org?.status === 'active' ? key.publicKey : undefined;
}
