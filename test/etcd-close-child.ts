/**
 * Child process for the etcd client close test: an election leader and a candidate waiting for
 * it, each on its own client. The candidate resigns and the leader stops renewing its lease, as
 * an orderer's crash() does; then both clients are closed with closeEtcd. The process must then
 * exit by itself: nothing of etcd may keep it alive (with a plain client.close() it does not).
 */
import { closeEtcd, connectEtcd, electionNamespace } from '../src/consensus/etcd/etcd-client.js';

const [endpoint] = process.argv.slice(2);
const leaderClient = connectEtcd([endpoint!]);
const candidateClient = connectEtcd([endpoint!]);
// A lease far longer than the test waits, so only closing can end the candidate's watch.
const TTL_SEC = 60;
const [leaderElection, candidateElection] = [leaderClient, candidateClient].map((client) =>
  client.namespace(`close-test/${process.pid}/`).election('proposer', TTL_SEC),
);
const leader = leaderElection!.campaign('leader');
leader.on('error', () => undefined);
await leader.wait();
const candidate = candidateElection!.campaign('candidate');
candidate.on('error', () => undefined);
// The candidate is now watching for the leader's key to go.
await new Promise((resolve) => setTimeout(resolve, 500));
await candidate.resign();
// The leader crashes: its lease is left to expire, so the candidate's watch never fires.
(leader as unknown as { lease: { release(): void } }).lease.release();
closeEtcd(candidateClient, [electionNamespace(candidateElection!)]);
closeEtcd(leaderClient, [electionNamespace(leaderElection!)]);
process.stdout.write('closed\n');
