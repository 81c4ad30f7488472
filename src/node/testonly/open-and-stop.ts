/**
 * Child process for the clean-close tests: opens the node in argv[2], then stops as argv[3]
 * says: 'kill' (SIGKILL, as the out-of-memory killer does) or 'throw' (an uncaught error).
 */
import { ChartChainNode } from '../node.js';

const [dataDir, how] = process.argv.slice(2);
await ChartChainNode.open(dataDir!, { verifyPoolSize: 1 });
if (how === 'kill') process.kill(process.pid, 'SIGKILL');
throw new Error('a fault this test stands for');
