/**
 * Members of a local etcd cluster on loopback, as `chartchain network up` runs them: one member
 * per organisation, each with its own data directory and ports, from Debian's etcd-server.
 */
import { spawnSync } from 'node:child_process';

/** One etcd member of the local cluster. */
export interface EtcdMember {
  readonly name: string;
  readonly clientUrl: string;
  readonly peerUrl: string;
  readonly dataDir: string;
}

/** Throws, saying how to install it, when no `etcd` binary is on PATH. */
export function requireEtcd(): void {
  const probe = spawnSync('etcd', ['--version'], { encoding: 'utf8' });
  if (probe.error !== undefined || probe.status !== 0) {
    throw new Error(
      'etcd is not installed: install it with `apt-get install etcd-server` (Debian), then run this command again',
    );
  }
}

/** Raft heartbeat of the local network's etcd members. */
export const ETCD_HEARTBEAT_MS = 50;
/** Raft election timeout of the local network's etcd members (etcd's default is 1 s). */
export const ETCD_ELECTION_TIMEOUT_MS = 500;
/** The proposer's election lease in the local network: etcd's shortest at the timing above. */
export const PROPOSER_LEASE_SEC = 1;

/** The command line that starts `member` of the cluster `members` (all named in --initial-cluster). */
export function etcdArgs(
  member: EtcdMember,
  members: readonly EtcdMember[],
  clusterToken: string,
): string[] {
  return [
    '--name',
    member.name,
    '--data-dir',
    member.dataDir,
    '--listen-client-urls',
    member.clientUrl,
    '--advertise-client-urls',
    member.clientUrl,
    '--listen-peer-urls',
    member.peerUrl,
    '--initial-advertise-peer-urls',
    member.peerUrl,
    '--initial-cluster',
    members.map((each) => `${each.name}=${each.peerUrl}`).join(','),
    '--initial-cluster-token',
    clusterToken,
    '--initial-cluster-state',
    'new',
    // Small, frequent snapshots and a bounded backend: the durable chain lives in each node's
    // SQLite, etcd holds only what is not yet committed everywhere.
    '--snapshot-count',
    '10000',
    // Raft timing for one machine or one site: a dead leader is replaced within about 0.5 s,
    // and etcd's shortest lease (1.5 election timeouts, rounded up to whole seconds) is 1 s, so
    // the proposer's election lease can be 1 s (PROPOSER_LEASE_SEC).
    '--heartbeat-interval',
    String(ETCD_HEARTBEAT_MS),
    '--election-timeout',
    String(ETCD_ELECTION_TIMEOUT_MS),
    '--quota-backend-bytes',
    String(2 * 1024 ** 3),
    '--auto-compaction-mode',
    'revision',
    '--auto-compaction-retention',
    '1000',
    '--logger',
    'zap',
    '--log-level',
    'warn',
  ];
}

/** True when the member at `clientUrl` answers its health endpoint as healthy. */
export async function etcdHealthy(clientUrl: string): Promise<boolean> {
  const response = await fetch(new URL('/health', clientUrl), {
    signal: AbortSignal.timeout(1_000),
  });
  if (!response.ok) return false;
  const body = (await response.json()) as { health?: string };
  return body.health === 'true';
}

/** True when the member at `clientUrl` is the cluster's Raft leader right now (etcd's v3 JSON gateway). */
export async function isEtcdLeader(clientUrl: string): Promise<boolean> {
  const response = await fetch(new URL('/v3/maintenance/status', clientUrl), {
    method: 'POST',
    body: '{}',
    signal: AbortSignal.timeout(1_000),
  });
  const body = (await response.json()) as { header?: { member_id?: string }; leader?: string };
  return body.leader !== undefined && body.leader === body.header?.member_id;
}
