/**
 * Starts a real etcd cluster (1 or 3 members) for tests: loopback ports picked free, data in a
 * temporary directory, members that can be killed with SIGKILL and restarted. stop() ends every
 * process it started and removes the data, and an exit hook kills any member still running if
 * a test dies first.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { freePort } from '../src/cli/free-port.js';

/** The message when etcd is not installed. */
export const ETCD_MISSING = 'etcd is not installed: install it with `apt-get install etcd-server`';

interface Member {
  readonly name: string;
  readonly clientUrl: string;
  readonly peerUrl: string;
  process: ChildProcess | undefined;
}

const running = new Set<ChildProcess>();
process.on('exit', () => running.forEach((child) => child.kill('SIGKILL')));

/** Throws with ETCD_MISSING when no `etcd` binary is on PATH. */
export function requireEtcd(): void {
  const probe = spawnSync('etcd', ['--version'], { stdio: 'ignore' });
  if (probe.error !== undefined || probe.status !== 0) throw new Error(ETCD_MISSING);
}

const START_ATTEMPTS = 3;

async function newMembers(size: number): Promise<Member[]> {
  const ports = new Set<number>();
  while (ports.size < 2 * size) ports.add(await freePort('127.0.0.1'));
  const urls = [...ports].map((port) => `http://127.0.0.1:${port}`);
  return Array.from({ length: size }, (_, i) => ({
    name: `m${i}`,
    clientUrl: urls[2 * i]!,
    peerUrl: urls[2 * i + 1]!,
    process: undefined,
  }));
}

/** A running etcd cluster on loopback. */
export class EtcdTestCluster {
  readonly #dir: string;
  readonly #members: Member[];

  private constructor(dir: string, members: Member[]) {
    this.#dir = dir;
    this.#members = members;
  }

  /**
   * Starts `size` members (1 or 3) and waits until each answers. A member that could not start
   * (its port taken between the probe and its bind, say) would leave a cluster one kill away from
   * losing its quorum, so the whole cluster is started again on fresh ports.
   */
  static async start(size: 1 | 3 = 1): Promise<EtcdTestCluster> {
    requireEtcd();
    let failure: unknown;
    for (let attempt = 0; attempt < START_ATTEMPTS; attempt++) {
      const cluster = new EtcdTestCluster(
        mkdtempSync(join(tmpdir(), 'chartchain-etcd-')),
        await newMembers(size),
      );
      try {
        cluster.#members.forEach((_, i) => cluster.#spawn(i));
        await cluster.waitReady();
        return cluster;
      } catch (error) {
        failure = error;
        await cluster.stop();
      }
    }
    throw failure;
  }

  /** Client URLs of every member, for the orderer's `endpoints`. */
  get endpoints(): string[] {
    return this.#members.map((member) => member.clientUrl);
  }

  get size(): number {
    return this.#members.length;
  }

  #spawn(index: number): void {
    const member = this.#members[index]!;
    const log = openSync(this.#logFile(member), 'a', 0o600);
    const initialCluster = this.#members.map((each) => `${each.name}=${each.peerUrl}`).join(',');
    const child = spawn(
      'etcd',
      [
        '--name',
        member.name,
        '--data-dir',
        join(this.#dir, member.name),
        '--listen-client-urls',
        member.clientUrl,
        '--advertise-client-urls',
        member.clientUrl,
        '--listen-peer-urls',
        member.peerUrl,
        '--initial-advertise-peer-urls',
        member.peerUrl,
        '--initial-cluster',
        initialCluster,
        '--initial-cluster-state',
        'new',
        '--initial-cluster-token',
        'chartchain-test',
        '--heartbeat-interval',
        '50',
        '--election-timeout',
        '500',
        '--logger',
        'zap',
        '--log-level',
        'error',
      ],
      { stdio: ['ignore', log, log] },
    );
    closeSync(log);
    running.add(child);
    child.once('exit', () => running.delete(child));
    member.process = child;
  }

  /**
   * Waits until a put through each live member's own endpoint succeeds: every one of them is up
   * and part of a quorum. A member whose process has exited fails at once, with its log.
   */
  async waitReady(timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (const member of this.#members) {
      if (member.process === undefined) continue;
      const client = new Etcd3({ hosts: member.clientUrl, dialTimeout: 1000 });
      try {
        await this.#putUntil(member, client, deadline);
      } finally {
        client.close();
      }
    }
  }

  async #putUntil(member: Member, client: Etcd3, deadline: number): Promise<void> {
    for (;;) {
      try {
        await client
          .put('chartchain-test/ready')
          .value('1')
          .options({ deadline: Date.now() + 1000 });
        return;
      } catch (error) {
        const child = member.process;
        const exited = child === undefined || child.exitCode !== null || child.signalCode !== null;
        if (exited || Date.now() > deadline)
          throw new Error(
            `etcd member ${member.name} ${exited ? 'exited' : 'did not become ready'}: ${String(error)}\n${this.#logTail(member)}`,
          );
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  }

  #logTail(member: Member): string {
    try {
      return readFileSync(this.#logFile(member), 'utf8').split('\n').slice(-5).join('\n');
    } catch {
      return '';
    }
  }

  #logFile(member: Member): string {
    return join(this.#dir, `${member.name}.log`);
  }

  /** Index of the member the cluster currently follows as Raft leader. */
  async leaderIndex(): Promise<number> {
    for (const [i, member] of this.#members.entries()) {
      if (member.process === undefined) continue;
      const client = new Etcd3({ hosts: member.clientUrl, dialTimeout: 1000 });
      try {
        const status = await client.maintenance.status({ deadline: Date.now() + 1000 });
        if (status.leader === status.header.member_id) return i;
      } catch {
        continue;
      } finally {
        client.close();
      }
    }
    throw new Error('no etcd member reports itself leader');
  }

  /** Kills member `index` with SIGKILL and waits for it to exit. */
  async kill(index: number): Promise<void> {
    const child = this.#members[index]!.process;
    this.#members[index]!.process = undefined;
    if (child === undefined || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }

  /** Starts member `index` again on its data directory. */
  restart(index: number): void {
    if (this.#members[index]!.process === undefined) this.#spawn(index);
  }

  /** Kills every member and removes the data. Safe to call twice. */
  async stop(): Promise<void> {
    await Promise.all(this.#members.map((_, i) => this.kill(i)));
    rmSync(this.#dir, { recursive: true, force: true });
  }
}
