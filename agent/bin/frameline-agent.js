#!/usr/bin/env node
import { main } from '../dist/src/cli.js';

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`frameline-agent: ${err?.stack ?? err}\n`);
    process.exit(1);
  },
);
