#!/usr/bin/env node
import { main } from '../dist/src/cli/main.js';

main().catch((err) => {
  process.stderr.write(`frameline-cloud: ${err?.stack ?? err}\n`);
  process.exit(1);
});
