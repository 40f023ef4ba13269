#!/usr/bin/env node
import { main } from '../dist/src/cli/main.js';

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (err) {
  process.stderr.write(`frameline-cloud: ${err?.stack ?? err}\n`);
  process.exitCode = 1;
}
