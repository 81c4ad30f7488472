import { join } from 'node:path';
import { runOrdererConformance } from '../orderer-conformance.js';
import { SoloOrderer } from './solo-orderer.js';

runOrdererConformance('solo', (dir, options) => new SoloOrderer(join(dir, 'orderer.db'), options));
