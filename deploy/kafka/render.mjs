// Renders a template with ${NAME} placeholders from the environment and fails
// on any placeholder without a value, so a typo cannot start a broker with a
// literal "${...}" in its config.
import { readFileSync } from 'node:fs';

const template = readFileSync(process.argv[2], 'utf8');
const missing = new Set();
const out = template.replace(/\$\{([A-Z0-9_]+)\}/g, (_, name) => {
  const value = process.env[name];
  if (value === undefined || value === '') missing.add(name);
  return value ?? '';
});
if (missing.size > 0) {
  console.error(`render: no value for ${[...missing].join(', ')} in ${process.argv[2]}`);
  process.exit(1);
}
process.stdout.write(out);
