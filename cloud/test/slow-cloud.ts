// frameline-cloud for tests that run the CLI as a child process: the real
// main() (as bin/frameline-cloud.js calls it), with the slow test model of
// $SLOW_MODEL_MS ms per frame given to the inference workers.
import { main } from '../src/cli/main.js';
import { slowModel } from './slow-model.js';

// Exits explicitly as bin/frameline-cloud.js does: a Kafka client retrying a gone broker after stop() keeps no stopped service alive.
process.exit(await main(process.argv.slice(2), { model: slowModel({ msPerFrame: Number(process.env.SLOW_MODEL_MS ?? 5) }) }));
