// The live dashboard in a real browser while the real pipeline runs: a real
// broker, three real frameline-agent processes replaying vtest.mp4, the cloud
// service (in this process, so the test can hand an alert to its live hub,
// as the alert stage does) with BlazePose, and Debian's chromium driven by
// playwright-core. It fails when a camera's images stop changing, when no
// skeleton is drawn, when an alert does not reach the list, or when the fleet
// view does not show the agents (from their status records) healthy and a
// stopped one offline. Saves screenshots to test/artifacts/dashboard.png
// (and dashboard-alert.png, dashboard-fleet.png).
//
// The fleet view: per-row sort and states are unit-tested in fleet-state.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { chromium, type Page } from 'playwright-core';
import { createLogger } from '@frameline/shared';
import { REPO_ROOT, sharedBroker } from '@frameline/shared/testing';
import { loadCloudConfig } from '../src/config.js';
import { drawPoses } from '../src/inference/draw.js';
import { createCloudService, type InferenceRecord } from '../src/service.js';
import { fleetTopics } from './fleet-support.js';

const AGENT = join(REPO_ROOT, 'agent/bin/frameline-agent.js');
const VIDEO = join(REPO_ROOT, 'agent/test/fixtures/vtest.mp4');
const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = join(REPO_ROOT, 'test/artifacts');
const CAMERAS = ['CAMERA-1', 'CAMERA-2', 'CAMERA-3'];
const TOKEN = 'browser-test-token-7d1e';
const logger = createLogger({ level: 'warn', scope: 'test' });

/** Visible overlay pixels per camera tile (alpha > 0 on its canvas). */
function overlayPixels(page: Page): Promise<Record<string, number>> {
  return page.evaluate(() => {
    const out: Record<string, number> = {};
    for (const tile of document.querySelectorAll<HTMLElement>('.tile')) {
      const canvas = tile.querySelector('canvas')!;
      if (canvas.width === 0) continue;
      const data = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
      let n = 0;
      for (let i = 3; i < data.length; i += 4) if (data[i]! > 0) n++;
      out[tile.dataset.camera!] = n;
    }
    return out;
  });
}

/** A camera's image as shown: its seq and a 32x24 thumbnail of its pixels. */
function shownImage(page: Page, camera: string): Promise<{ seq: number; pixels: number[] }> {
  return page.evaluate((cam) => {
    const img = document.querySelector<HTMLImageElement>(`.tile[data-camera="${cam}"] img.frame`)!;
    const canvas = document.createElement('canvas');
    Object.assign(canvas, { width: 32, height: 24 });
    const g = canvas.getContext('2d')!;
    g.drawImage(img, 0, 0, 32, 24);
    return { seq: Number(img.dataset.seq), pixels: [...g.getImageData(0, 0, 32, 24).data] };
  }, camera);
}

/** The snapshot an alert carries: the inferred frame with its skeletons, small. */
async function alertSnapshot(jpeg: Buffer, record: InferenceRecord): Promise<string> {
  const { data, info } = await sharp(jpeg).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const drawn = await drawPoses({ width: info.width, height: info.height, rgb: data }, record.persons);
  return (await sharp(drawn).resize({ width: 320 }).jpeg({ quality: 70 }).toBuffer()).toString('base64');
}

test('the dashboard shows three live cameras with changing images, skeletons and a new alert', { timeout: 480_000 }, async (t) => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: npm test installs the Debian package "chromium"`);
  const broker = await sharedBroker();
  const topics = await fleetTopics(broker, 'dashboard');
  const p = broker.props;
  const dir = mkdtempSync(join(tmpdir(), 'fl-dashboard-'));
  writeFileSync(join(dir, 'dashboard.token'), TOKEN);
  const configFile = join(dir, 'cloud.json');
  writeFileSync(configFile, JSON.stringify({
    kafka: { brokers: p['bootstrap.internal'], username: p['sasl.cloud.username'], passwordFile: p['sasl.cloud.password.file'], groupId: `frameline-test-dash-${Date.now()}`, sessionTimeout: '6s' },
    topics: { frames: topics.frames, backfill: topics.backfill, inferences: topics.inferences, dlq: topics.dlq, agents: topics.agents },
    // an agent silent for 15 s is offline (the default is a minute; agents here send every 2 s)
    fleet: { offlineAfter: '15s' },
    // 3 s rather than the demo's 1 s: on a loaded test machine frames still get inferred.
    scheduler: { workers: 1, maxLagMs: '3s' },
    model: { kind: 'blazepose', variant: 'lite', detector: 'multi', threads: 1 },
    http: { listen: '127.0.0.1:0', tokenFile: 'dashboard.token' },
    log: { level: 'warn' },
  }));
  const config = loadCloudConfig({ file: configFile, env: {} });
  const service = createCloudService(config, { logger });
  let withPersons: { record: InferenceRecord; jpeg: Buffer } | undefined;
  service.onResult((record, { window }) => {
    // The inferred frame, or when ingest ran ahead of inference (a loaded machine) the camera's newest one.
    const jpeg = (window?.find(record.seq) ?? window?.latest())?.frame.jpeg;
    if (record.persons.length > 0 && jpeg) withPersons = { record, jpeg };
  });
  const agents: ChildProcess[] = [];
  t.after(async () => {
    for (const a of agents) a.kill('SIGTERM');
    await Promise.all(agents.map((a) => (a.exitCode !== null ? null : new Promise((r) => a.once('exit', r)))));
    await service.stop();
  });
  const t0 = Date.now();
  const phase = (what: string) => t.diagnostic(`${((Date.now() - t0) / 1000).toFixed(1)} s: ${what}`);
  await service.start();
  phase('service started (model loaded)');
  const { port } = service.http.address()!;

  for (const [i, camera] of CAMERAS.entries()) {
    const file = join(dir, `${camera}.json`);
    writeFileSync(file, JSON.stringify({
      camera: { id: camera, source: 'file', file: { path: VIDEO, fps: 5 } }, // 5 fps: the agents' ffmpeg and JPEG work is most of this test's CPU
      kafka: { brokers: [p['bootstrap.external']], passwordFile: p['sasl.agent.password.file'], caFile: p['ssl.ca'] },
      topics: { frames: topics.frames, backfill: topics.backfill, agents: topics.agents },
      status: { intervalSeconds: 2 },
      partitioning: 'camera-index',
      stateDir: join(dir, `state-${i}`),
      log: { level: 'warn' },
    }));
    const agent = spawn(process.execPath, [AGENT, 'run', '--config', file], { stdio: ['ignore', 'ignore', 'inherit'] });
    agents.push(agent);
  }

  const context = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'fl-chromium-')), {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1440, height: 900 },
  });
  t.after(() => context.close());
  const page = await context.newPage();
  const pageErrors: string[] = [];
  page.on('pageerror', (err) => pageErrors.push(err.message));
  page.on('console', (m) => m.type() === 'error' && pageErrors.push(m.text()));

  // The token once in the address; the page trades it for a cookie and drops it from the URL.
  await page.goto(`http://127.0.0.1:${port}/?token=${TOKEN}`);
  assert.equal(new URL(page.url()).search, '', 'the token is gone from the address bar');

  // Three tiles, each showing frames.
  await page.waitForFunction((cams) => cams.every((c) => ((window as unknown as { frameline: { framesShown: Record<string, number> } }).frameline.framesShown[c] ?? 0) >= 3), CAMERAS, { timeout: 120_000, polling: 250 });
  assert.equal(await page.locator('.tile').count(), 3);
  phase('three tiles show frames');

  // Each camera's image changes: a later frame (higher seq) whose pixels differ.
  const before = new Map<string, { seq: number; pixels: number[] }>();
  for (const camera of CAMERAS) before.set(camera, await shownImage(page, camera));
  const shown = await page.evaluate(() => ({ ...(window as unknown as { frameline: { framesShown: Record<string, number> } }).frameline.framesShown }));
  await page.waitForFunction(({ cams, shown }) => cams.every((c) => (window as unknown as { frameline: { framesShown: Record<string, number> } }).frameline.framesShown[c]! >= shown[c]! + 5), { cams: CAMERAS, shown }, { timeout: 60_000, polling: 250 });
  for (const camera of CAMERAS) {
    const was = before.get(camera)!;
    const now = await shownImage(page, camera);
    assert.ok(now.seq > was.seq, `${camera}: seq ${was.seq} -> ${now.seq}`);
    const changed = now.pixels.filter((v, i) => v !== was.pixels[i]).length;
    assert.ok(changed > 0, `${camera}: the image on screen changed (${changed} of ${now.pixels.length} thumbnail values differ)`);
    t.diagnostic(`${camera}: seq ${was.seq} -> ${now.seq}, ${changed} of ${now.pixels.length} thumbnail values changed`);
  }

  phase('every image changed');
  // At least one skeleton on an overlay canvas (pixels, not only the page's own count).
  await page.waitForFunction(() => (window as unknown as { frameline: { skeletonsDrawn: number } }).frameline.skeletonsDrawn > 0, undefined, { timeout: 120_000, polling: 250 });
  let pixels: Record<string, number> = {};
  for (let i = 0; i < 100 && !Object.values(pixels).some((n) => n > 100); i++) {
    pixels = await overlayPixels(page);
    if (!Object.values(pixels).some((n) => n > 100)) await page.waitForTimeout(200);
  }
  assert.ok(Object.values(pixels).some((n) => n > 100), `an overlay shows a skeleton: ${JSON.stringify(pixels)}`);
  phase('a skeleton is drawn');
  // The state badge: a camera sending frames is shown live (a stalled consumer on a loaded machine may show stale for a while).
  await page.locator('.tile[data-state="live"]').first().waitFor({ timeout: 90_000 });

  phase('a camera shows live');
  // An alert handed to the hub (as the alert stage does) appears in the list; a click shows it larger.
  assert.ok(withPersons, 'a result with persons was published');
  const { record, jpeg } = withPersons;
  const alert = { key: `${record.camera}/zone/test-${record.seq}`, camera: record.camera, track: 1, kind: 'zone', score: 0.87, startedAt: record.capturedAt, seqs: [record.seq], snapshot: await alertSnapshot(jpeg, record) };
  service.live.alert(alert);
  const item = page.locator(`#alerts li[data-key="${alert.key}"]`);
  await item.waitFor({ timeout: 60_000 });
  assert.ok(await item.locator('img').evaluate((img) => (img as HTMLImageElement).naturalWidth > 0), 'the snapshot shows');
  // dispatchEvent: a click without playwright's wait for a stable layout, which a starved renderer on a loaded machine may not reach.
  await item.dispatchEvent('click');
  await page.locator('#alert-view[open] #alert-view-image').waitFor({ timeout: 60_000 });
  const big = await page.locator('#alert-view-image').boundingBox();
  const small = await item.locator('img').boundingBox();
  assert.ok(big && small && big.width > 2 * small.width, `larger on click: ${big?.width} vs ${small?.width} px`);
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, 'dashboard-alert.png') });
  await page.locator('#alert-view-close').dispatchEvent('click');
  await page.locator('#alert-view[open]').waitFor({ state: 'detached', timeout: 60_000 });
  service.live.alert({ ...alert, endedAt: record.capturedAt + 4000 });
  await page.locator(`#alerts li.ended[data-key="${alert.key}"]`).waitFor({ timeout: 60_000 });
  // (an agent starved on a loaded machine may add an agent-offline alert of its own: not counted here)
  assert.equal(await page.locator('#alerts li', { hasNotText: /agent-(offline|spooling|throttled)/i }).count(), 1, 'the update replaced the entry');

  phase('the alert is listed, shown larger and updated');

  // The fleet view: a row per agent from its status records, every one healthy; then one agent stops and shows offline, first.
  const rowHealth = () => page.evaluate(() => [...document.querySelectorAll<HTMLElement>('#fleet-rows tr')].map((tr) => `${tr.dataset.camera} ${tr.dataset.health}`));
  await page.waitForFunction((cams) => cams.every((c) => document.querySelector(`#fleet-rows tr[data-camera="${c}"][data-health="healthy"]`)), CAMERAS, { timeout: 90_000, polling: 250 });
  phase(`fleet view: ${(await rowHealth()).join(', ')}`);
  assert.equal(await page.locator(`#fleet-rows a[href="#tile-CAMERA-2"]`).count(), 1, 'a row links to its camera tile');
  await page.locator(`#fleet-rows a[href="#tile-CAMERA-2"]`).dispatchEvent('click');
  assert.equal(await page.evaluate(() => location.hash), '#tile-CAMERA-2');
  assert.equal(await page.locator('#tile-CAMERA-2').count(), 1, 'the link target is the tile');
  const stopped = agents[2]!;
  stopped.kill('SIGTERM');
  await new Promise((r) => (stopped.exitCode !== null ? r(null) : stopped.once('exit', r)));
  const expected = ['CAMERA-3 offline', 'CAMERA-1 healthy', 'CAMERA-2 healthy'];
  // worst first, the others still healthy (a loaded machine may show one catching up for a moment: wait for it)
  await page.waitForFunction((want) => [...document.querySelectorAll<HTMLElement>('#fleet-rows tr')].map((tr) => `${tr.dataset.camera} ${tr.dataset.health}`).join() === want.join(), expected, { timeout: 90_000, polling: 250 })
    .catch(async () => assert.fail(`fleet rows ${JSON.stringify(await rowHealth())}, want ${JSON.stringify(expected)}`));
  phase(`CAMERA-3 stopped: ${(await rowHealth()).join(', ')}`);
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: join(ARTIFACTS, 'dashboard-fleet.png') });
  const fleetMetrics = await (await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
  assert.match(fleetMetrics, /frameline_fleet_up\{camera="CAMERA-3"\} 0/);
  assert.match(fleetMetrics, /frameline_fleet_up\{camera="CAMERA-1"\} 1/);
  const screenshot = join(ARTIFACTS, 'dashboard.png');
  await page.screenshot({ path: screenshot });
  const figures = await page.evaluate(() => (window as unknown as { frameline: unknown }).frameline);
  t.diagnostic(`screenshot: ${screenshot}`);
  t.diagnostic(`page: ${JSON.stringify(figures)}; overlay pixels ${JSON.stringify(pixels)}`);
  t.diagnostic(`hub: ${JSON.stringify(service.live.counts())}`);
  for (const s of service.live.status()) t.diagnostic(`${s.camera}: ${s.state}, capture ${s.captureFps} fps, inferred ${s.inferredFps} fps, skipped ${s.skippedFps}/s (${s.skipped}), ${s.persons} persons`);
  console.log(`dashboard screenshot: ${screenshot}`);
  const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
  assert.match(metrics, /frameline_live_frames_sent_total [1-9]/);
  assert.match(metrics, /frameline_live_clients 1/);
  assert.deepEqual(pageErrors, [], 'no errors in the page');
});
