#!/usr/bin/env node
import { main } from '../dist/src/cli/main.js';

// Exits explicitly once main() has stopped the service and logged it: a Kafka
// client still retrying a gone broker after stop() must not keep a stopped
// service alive until systemd's stop timeout (the agent's entry point does the same).
main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`frameline-cloud: ${err?.stack ?? err}\n`);
    process.exit(1);
  },
);
