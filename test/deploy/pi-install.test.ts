// Flash and enable, as far as this machine goes: the agent release packed by
// `npm run pack:agent`, installed by deploy/pi/install.sh as root inside a
// real Debian root (arm64 under qemu-user emulation when the kernel allows,
// amd64 otherwise), then checked from inside: user, files, modes, the enabled
// unit, and the installed release running check-config and sharp.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { debianRoot, rootArch, type DebianRoot, type Outcome } from './pi-root.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const VERSION = (JSON.parse(readFileSync(join(REPO, 'agent/package.json'), 'utf8')) as { version: string }).version;
const PASSWORD = `pi-test-${process.pid}-not-a-real-password`;
const BROKER = 'broker.example.com:9092';
const scratch = mkdtempSync(join(tmpdir(), 'fl-pi-install-'));

let root: DebianRoot;
let tarball: string;
let release: string; // path of the unpacked release inside the chroot

/** `node scripts/pack.mjs agent` into `out`; returns the tarball's path. */
function pack(cpu: string, out: string): string {
  const started = Date.now();
  const r = spawnSync(process.execPath, [join(REPO, 'scripts/pack.mjs'), 'agent', '--cpu', cpu, '--out', out, '--no-build'], { cwd: REPO, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  const file = join(out, `frameline-agent-${VERSION}-linux-${cpu}.tar.gz`);
  console.log(`packed ${relative(scratch, file)}: ${(statSync(file).size / 1048576).toFixed(2)} MiB in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return file;
}

function sha256(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

function inRoot(path: string): string {
  return join(root.dir, path);
}

/** Files the overlay holds: everything changed or added inside the chroot, apart from scratch files in /tmp. */
function changedFiles(): string[] {
  const upper = root.upper;
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, entry.name);
      const rel = `/${relative(upper, p)}`;
      // /tmp: the test's own files; /usr/bin/node: moved away and back by the no-Node test
      if (rel === '/tmp' || rel.startsWith('/tmp/') || rel.startsWith('/usr/bin/node')) continue;
      if (entry.isDirectory() && !entry.isSymbolicLink()) walk(p);
      else out.push(`${rel} ${lstatSync(p).mode.toString(8)} ${lstatSync(p).size}`);
    }
  };
  walk(upper);
  return out.sort();
}

function installSh(args: string[], input = ''): Promise<Outcome> {
  return root.run(['/bin/sh', `${release}/deploy/install.sh`, ...args], { input });
}

function installArgs(): string[] {
  return ['--broker', BROKER, '--camera-id', 'CAMERA-7', '--ca-file', '/tmp/ca.pem', '--password-stdin'];
}

function statIn(path: string): string {
  const s = statSync(inRoot(path));
  const names = (file: string) => new Map(readFileSync(inRoot(file), 'utf8').split('\n').filter(Boolean).map((l) => { const f = l.split(':'); return [f[2]!, f[0]!] as const; }));
  return `${(s.mode & 0o7777).toString(8)} ${names('/etc/passwd').get(String(s.uid)) ?? s.uid}:${names('/etc/group').get(String(s.gid)) ?? s.gid}`;
}

let pristine: string[];
before(async () => {
  const arch = rootArch();
  root = debianRoot(arch);
  console.log(`Debian trixie ${arch} root ${arch === 'arm64' && process.arch !== 'arm64' ? 'under qemu-user emulation' : 'native'}; ` +
    (root.coldSeconds ? `made by debootstrap in ${root.coldSeconds} s (cold), cached for later runs` : 'from the cache in ~/.cache/frameline'));
  tarball = pack(root.cpu, join(scratch, 'a'));
  copyFileSync(tarball, inRoot('/tmp/release.tar.gz'));
  const unpacked = await root.run(['tar', '-xzf', '/tmp/release.tar.gz', '-C', '/tmp']);
  assert.equal(unpacked.code, 0, unpacked.stderr);
  release = `/tmp/frameline-agent-${VERSION}-linux-${root.cpu}`;
  // a CA certificate as the broker's first boot makes one
  const ca = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', '/CN=frameline pi-test CA', '-days', '1', '-keyout', join(scratch, 'ca.key'), '-out', inRoot('/tmp/ca.pem')], { encoding: 'utf8' });
  assert.equal(ca.status, 0, ca.stderr);
  pristine = changedFiles();
}); // scripts/test.mjs made the cached root beforehand (prepareRoot), so this takes seconds

after(() => {
  root?.destroy();
});

test('the release holds the agent, shared and sharp for the target platform, and nothing of cloud or dev', () => {
  const list = spawnSync('tar', ['-tzf', tarball], { encoding: 'utf8', maxBuffer: 1 << 24 }).stdout.split('\n').filter(Boolean);
  const top = `frameline-agent-${VERSION}-linux-${root.cpu}/`;
  assert.ok(list.every((p) => p.startsWith(top)), 'one top folder');
  const files = new Set(list.map((p) => p.slice(top.length)));
  for (const wanted of ['bin/frameline-agent.js', 'dist/src/cli.js', 'RELEASE.json', 'deploy/install.sh', 'deploy/frameline-agent.service', 'deploy/agent.example.json',
    'node_modules/@frameline/shared/dist/src/index.js', 'node_modules/kafkajs/package.json', 'node_modules/sharp/package.json',
    `node_modules/@img/sharp-linux-${root.cpu}/package.json`, `node_modules/@img/sharp-libvips-linux-${root.cpu}/package.json`]) {
    assert.ok(files.has(wanted), `${wanted} in the release`);
  }
  const imgAllowed = new Set(['colour', `sharp-linux-${root.cpu}`, `sharp-libvips-linux-${root.cpu}`]);
  const leaks = [...files].filter((f) =>
    /(^|\/)node_modules\/(onnxruntime-node|onnxruntime-common|typescript|@mediapipe|@vladmandic|@types\/node|@frameline\/(cloud|agent))\//.test(f) ||
    (/^node_modules\/@img\/[^/]+\//.test(f) && !imgAllowed.has(f.split('/')[2]!)) ||
    /^dist\/(test\/|src\/.*\.(ts|map)$)/.test(f) ||
    /^node_modules\/@frameline\/shared\/dist\/(test|src\/testing)\//.test(f));
  assert.deepEqual(leaks, [], 'no cloud, dev, test or other-platform files');
  const release = JSON.parse(spawnSync('tar', ['-xzOf', tarball, `${top}RELEASE.json`], { encoding: 'utf8' }).stdout) as { cpu: string; version: string };
  assert.equal(release.cpu, root.cpu);
  console.log(`release: ${files.size} entries, ${(statSync(tarball).size / 1048576).toFixed(2)} MiB compressed`);
});

test('packing the same commit twice gives the same bytes', () => {
  const again = pack(root.cpu, join(scratch, 'b'));
  console.log(`sha256 ${sha256(tarball)}\nsha256 ${sha256(again)}`);
  assert.equal(sha256(again), sha256(tarball));
});

test('install.sh --dry-run prints every action and changes nothing; it refuses a password in argv', async () => {
  const r = await installSh([...installArgs(), '--dry-run'], `${PASSWORD}\n`);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  for (const action of [/^would run: useradd --system --user-group --groups video .* frameline$/m, /^would run: cp -a .* \/opt\/frameline\/releases\/agent-/m,
    /^would run: mv -T \/opt\/frameline\/agent\.new \/opt\/frameline\/agent$/m, /^would write \/etc\/frameline\/kafka-password \(mode 600, owner root:root\):$/m,
    /^would write \/etc\/frameline\/agent\.json \(mode 640, owner root:frameline\):$/m, /"CAMERA-7"/, /^would write \/etc\/systemd\/system\/frameline-agent\.service/m,
    /^would run: systemctl enable frameline-agent\.service$/m, /^would write \/usr\/local\/bin\/frameline-agent/m]) {
    assert.match(r.stdout, action);
  }
  assert.doesNotMatch(r.stdout + r.stderr, new RegExp(PASSWORD));
  assert.deepEqual(changedFiles(), pristine, 'the root is unchanged');

  const argv = await installSh(['--password', PASSWORD, '--dry-run']);
  assert.equal(argv.code, 1);
  assert.match(argv.stderr, /never goes on the command line .* --password-file FILE or --password-stdin/);
});

test('install.sh without Node.js 20 says how to get it and changes nothing', async () => {
  renameSync(inRoot('/usr/bin/node'), inRoot('/usr/bin/node.away'));
  let r: Outcome;
  try {
    r = await installSh(installArgs(), PASSWORD);
  } finally {
    renameSync(inRoot('/usr/bin/node.away'), inRoot('/usr/bin/node'));
  }
  assert.equal(r.code, 1);
  assert.match(r.stderr, /needs Node\.js 20 or newer at \/usr\/bin\/node; found none/);
  assert.match(r.stderr, /On Debian trixie: sudo apt-get install -y nodejs/);
  assert.match(r.stderr, /https:\/\/deb\.nodesource\.com\/node_20\.x nodistro main/);
  assert.deepEqual(changedFiles(), pristine);
});

test('install.sh installs the release, the frameline user in group video, the config, a 0600 root password file and the enabled unit', async () => {
  const r = await installSh(installArgs(), `${PASSWORD}\n`);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /^ {2}journalctl -u frameline-agent -f$/m);
  assert.match(r.stdout, /systemd is not running here .* starts at the next boot/);
  // install.sh ran `frameline-agent check-config` from the installed release, reading the password as the unit's credential
  assert.match(r.stdout, /^\+ \/usr\/local\/bin\/frameline-agent check-config --config \/etc\/frameline\/agent\.json$/m);
  assert.match(r.stderr, /^config ok: \/etc\/frameline\/agent\.json$/m);
  assert.doesNotMatch(r.stdout + r.stderr, new RegExp(PASSWORD));

  const passwd = (await root.run(['getent', 'passwd', 'frameline'])).stdout.trim().split(':');
  assert.ok(Number(passwd[2]) < 1000, `system uid, got ${passwd[2]}`);
  assert.equal(passwd[6], '/usr/sbin/nologin');
  assert.deepEqual((await root.run(['id', '-nG', 'frameline'])).stdout.trim().split(' ').sort(), ['frameline', 'video']);

  assert.equal(statIn('/etc/frameline/kafka-password'), '600 root:root');
  assert.equal(readFileSync(inRoot('/etc/frameline/kafka-password'), 'utf8'), `${PASSWORD}\n`);
  assert.equal(statIn('/etc/frameline/agent.json'), '640 root:frameline');
  assert.equal(statIn('/etc/frameline/ca.pem'), '644 root:root');
  assert.equal(statIn('/usr/local/bin/frameline-agent'), '755 root:root');
  assert.equal(statIn('/etc/systemd/system/frameline-agent.service'), '644 root:root');
  assert.equal(readlinkSync(inRoot('/opt/frameline/agent')), `/opt/frameline/releases/agent-${VERSION}`);
  assert.equal(statIn(`/opt/frameline/releases/agent-${VERSION}/bin/frameline-agent.js`), '755 root:root');
  const wants = '/etc/systemd/system/multi-user.target.wants/frameline-agent.service';
  assert.equal(readlinkSync(inRoot(wants)), '/etc/systemd/system/frameline-agent.service', 'enabled: WantedBy=multi-user.target');
  const enabled = await root.run(['systemctl', 'is-enabled', 'frameline-agent.service']);
  assert.equal(enabled.stdout.trim(), 'enabled');

  const config = JSON.parse(readFileSync(inRoot('/etc/frameline/agent.json'), 'utf8').replace(/^\/\/.*$/gm, '')) as { camera: { id: string }; kafka: { brokers: string[]; caFile: string; passwordFile: string } };
  assert.equal(config.camera.id, 'CAMERA-7');
  assert.deepEqual(config.kafka.brokers, [BROKER]);
  assert.equal(config.kafka.caFile, '/etc/frameline/ca.pem');
  assert.equal(config.kafka.passwordFile, 'credential:kafka-password');
});

test('the service user can read the config but not the password', async () => {
  const asService = (path: string) => root.run(['setpriv', '--reuid=frameline', '--regid=frameline', '--init-groups', 'cat', path]);
  assert.equal((await asService('/etc/frameline/agent.json')).code, 0);
  const denied = await asService('/etc/frameline/kafka-password');
  assert.notEqual(denied.code, 0);
  assert.match(denied.stderr, /Permission denied/);
});

test(`sharp's prebuilt in the installed release loads and resizes a JPEG on the target architecture`, async () => {
  const script = `const sharp = require('sharp');
    sharp({ create: { width: 64, height: 48, channels: 3, background: '#c03' } }).jpeg().toBuffer()
      .then((jpeg) => sharp(jpeg).resize(32).jpeg().toBuffer())
      .then((small) => sharp(small).metadata())
      .then((m) => console.log(JSON.stringify({ arch: process.arch, node: process.versions.node, format: m.format, width: m.width, height: m.height, vips: sharp.versions.vips })));`;
  const r = await root.run(['/bin/sh', '-c', 'cd /opt/frameline/agent && exec node -e "$0"', script]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const out = JSON.parse(r.stdout) as { arch: string; node: string; format: string; width: number; height: number; vips: string };
  console.log(`in the root: node ${out.node} on ${out.arch}, libvips ${out.vips}`);
  assert.equal(out.arch, root.cpu);
  assert.deepEqual([out.format, out.width, out.height], ['jpeg', 32, 24]);
});

test('a second install.sh run with the same options changes nothing', async () => {
  const before = changedFiles();
  const r = await installSh(installArgs(), `${PASSWORD}\n`);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const actions = r.stdout.split('\n').filter((l) => l.startsWith('+ '));
  assert.deepEqual(actions, [], 'no action taken');
  assert.match(r.stdout, /^unchanged: \/etc\/frameline\/agent\.json$/m);
  assert.match(r.stdout, /^unchanged: frameline-agent\.service is enabled$/m);
  assert.match(r.stdout, /^unchanged: release and config, checked when they were installed$/m);
  assert.deepEqual(changedFiles(), before);
});

test('--uninstall removes what install.sh installed but keeps the spool; --purge removes the spool', async () => {
  mkdirSync(inRoot('/var/lib/frameline-agent/spool/CAMERA-7'), { recursive: true });
  writeFileSync(inRoot('/var/lib/frameline-agent/spool/CAMERA-7/00000000.seg'), 'spooled frames');
  const r = await installSh(['--uninstall']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  for (const gone of ['/etc/systemd/system/frameline-agent.service', '/etc/systemd/system/multi-user.target.wants/frameline-agent.service', '/opt/frameline', '/usr/local/bin/frameline-agent', '/etc/frameline']) {
    assert.ok(!existsSync(inRoot(gone)) && !isLink(inRoot(gone)), `${gone} removed`);
  }
  assert.notEqual((await root.run(['getent', 'passwd', 'frameline'])).code, 0, 'user removed');
  assert.notEqual((await root.run(['getent', 'group', 'frameline'])).code, 0, 'group removed');
  assert.ok(existsSync(inRoot('/var/lib/frameline-agent/spool/CAMERA-7/00000000.seg')), 'spool kept');
  assert.match(r.stdout, /kept the spool \/var\/lib\/frameline-agent/);

  const purge = await installSh(['--uninstall', '--purge']);
  assert.equal(purge.code, 0, purge.stdout + purge.stderr);
  assert.ok(!existsSync(inRoot('/var/lib/frameline-agent')), 'spool purged');
  // What is left differs from the untouched root only in the account files
  // (rewritten, with backups and a lock file), which read the same as before.
  for (const file of ['/etc/passwd', '/etc/group', '/etc/shadow', '/etc/gshadow']) {
    assert.equal(readFileSync(inRoot(file), 'utf8'), readFileSync(join(root.lower, file), 'utf8'), `${file} as before`);
  }
  const accountFiles = /^\/etc\/(passwd|group|shadow|gshadow|subuid|subgid)-? |^\/etc\/\.pwd\.lock /;
  assert.deepEqual(changedFiles().filter((f) => !accountFiles.test(f) && !/^\/var\/log\//.test(f)), pristine.filter((f) => !accountFiles.test(f)));
});

function isLink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}
