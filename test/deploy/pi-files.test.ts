// The deploy files as their own tools read them: shellcheck for install.sh,
// cloud-init's schema for the first-boot user-data, systemd-analyze verify
// for the units. Each check also runs on a broken copy, to show it can fail.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const scratch = mkdtempSync(join(tmpdir(), 'fl-pi-files-'));

function tool(cmd: string, args: string[]): { code: number; output: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.error) throw new Error(`${cmd}: ${r.error.message} (npm test installs it)`);
  return { code: r.status ?? 1, output: `${r.stdout}${r.stderr}` };
}

test('install.sh is shellcheck clean (POSIX sh), and shellcheck flags a broken copy', () => {
  const script = join(REPO, 'deploy/pi/install.sh');
  const r = tool('shellcheck', ['--shell=sh', '--severity=style', script]);
  assert.equal(r.code, 0, r.output);
  const broken = join(scratch, 'install.sh');
  writeFileSync(broken, readFileSync(script, 'utf8').replace('    "$@"\n', '    $@\n'));
  assert.notEqual(tool('shellcheck', ['--shell=sh', broken]).code, 0);
});

test('user-data is valid cloud-config for cloud-init schema, and an invalid copy is not', () => {
  const userData = join(REPO, 'deploy/pi/user-data');
  const r = tool('cloud-init', ['schema', '--config-file', userData]);
  assert.equal(r.code, 0, r.output);
  assert.match(r.output, /Valid cloud-config/);
  const broken = join(scratch, 'user-data');
  writeFileSync(broken, readFileSync(userData, 'utf8').replace('package_update: true', 'package_update: "yes please"'));
  const bad = tool('cloud-init', ['schema', '--config-file', broken]);
  assert.notEqual(bad.code, 0);
  assert.match(bad.output, /package_update/);
});

test('user-data marks every placeholder CHANGE_ME and its last step wipes the password from the boot partition copy', () => {
  const text = readFileSync(join(REPO, 'deploy/pi/user-data'), 'utf8');
  const parsed = yaml(text) as { runcmd: (string | string[])[]; write_files: { path: string; content: string }[] };
  const password = parsed.write_files.find((f) => f.path === '/etc/frameline/kafka-password')!;
  assert.match(password.content, /^CHANGE_ME/);
  // the runcmd sed, run on a copy standing in for /boot/firmware/user-data
  const wipe = parsed.runcmd.find((c) => Array.isArray(c) && c.join(' ').includes('FRAMELINE_PASSWORD')) as string[];
  const copy = join(scratch, 'bootfs-user-data');
  writeFileSync(copy, text.replace('CHANGE_ME-agent-password', 's3cret-from-the-broker'));
  const r = tool(wipe[0]!, [...wipe.slice(1, -1), wipe.at(-1)!.replaceAll('/boot/firmware/user-data', copy)]);
  assert.equal(r.code, 0, r.output);
  const after = readFileSync(copy, 'utf8');
  assert.doesNotMatch(after, /s3cret-from-the-broker/);
  assert.equal((yaml(after) as typeof parsed).write_files.find((f) => f.path === '/etc/frameline/kafka-password')!.content, '(installed in /etc/frameline/kafka-password)');
  assert.equal(tool('cloud-init', ['schema', '--config-file', copy]).code, 0, 'still valid after the wipe');
});

test('the frameline units pass systemd-analyze verify without a warning, and a broken unit fails', () => {
  const dir = join(REPO, 'deploy/systemd');
  const units = readdirSync(dir).filter((f) => /^frameline-.*\.service$/.test(f)).map((f) => join(dir, f));
  assert.ok(units.some((u) => u.endsWith('frameline-agent.service')) && units.some((u) => u.endsWith('frameline-cloud.service')));
  const r = tool('systemd-analyze', ['verify', ...units]);
  assert.equal(r.code, 0, r.output);
  assert.equal(r.output.trim(), '', 'no warnings');
  const broken = join(scratch, 'frameline-agent.service');
  writeFileSync(broken, readFileSync(join(dir, 'frameline-agent.service'), 'utf8').replace('ExecStart=', 'ExecStrat='));
  const bad = tool('systemd-analyze', ['verify', broken]);
  assert.notEqual(bad.code, 0);
  assert.match(bad.output, /Unknown key 'ExecStrat'/);
});

/** YAML through python3's yaml module (cloud-init's own parser). */
function yaml(text: string): unknown {
  const r = spawnSync('python3', ['-c', 'import json, sys, yaml; print(json.dumps(yaml.safe_load(sys.stdin)))'], { input: text, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}
