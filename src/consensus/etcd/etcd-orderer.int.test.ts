import { createHash } from 'node:crypto';
import { after } from 'node:test';
import { EtcdTestCluster } from '../../../test/etcd-cluster.js';
import { runOrdererConformance } from '../orderer-conformance.js';
import { runNetworkedOrdererConformance } from '../orderer-networked-conformance.js';
import { EtcdOrderer } from './etcd-orderer.js';

const cluster = await EtcdTestCluster.start(1);
after(() => cluster.stop());

/** Each conformance directory is its own network: the same dir reopens the same etcd queue. */
const namespaceOf = (dir: string): string => `conformance-${createHash('sha256').update(dir).digest('hex').slice(0, 16)}`;

runOrdererConformance('etcd', (dir, options) => EtcdOrderer.open({ ...options, endpoints: cluster.endpoints, namespace: namespaceOf(dir), nodeId: 'node-a' }));

runNetworkedOrdererConformance('etcd', async (network, nodeId, options) => {
  const orderer = await EtcdOrderer.open({ ...options, endpoints: cluster.endpoints, namespace: network, nodeId });
  return { orderer, crash: () => orderer.crash() };
}, (figure, value) => console.log(`${figure}: ${value}`));
