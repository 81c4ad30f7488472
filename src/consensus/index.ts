/** Public API of src/consensus: the Orderer interface and its adapters. */
export {
  QueueFullError,
  OrdererStoppedError,
  OrdererUnavailableError,
  type BlockConsumer,
  type OrderedBatch,
  type Orderer,
  type OrdererOptions,
} from './orderer.js';
export { SoloOrderer } from './solo/solo-orderer.js';
export { MemoryCheckpointHub, type CheckpointExchange } from './checkpoint-exchange.js';
export { EtcdCheckpointExchange } from './etcd/etcd-checkpoints.js';
export { EtcdOrderer, type EtcdOrdererOptions } from './etcd/etcd-orderer.js';
export { openCheckpointExchange, openOrderer, type OrdererChoice } from './orderer-factory.js';
