// Fleet health with real frameline-agent processes (synthetic camera,
// reliable delivery) and the cloud service in this process, on real brokers:
// - the agents' broker goes away and comes back: the cloud takes the agent's
//   statuses spooling -> catching-up -> connected, shows them in its fleet
//   view and /metrics, and raises exactly one agent-spooling alert;
// - an agent killed with SIGKILL: one agent-offline alert after
//   fleet.offlineAfter, cleared when the agent comes back with a new run id.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TOPICS, createLogger, type AgentStatus, type TopicSet } from '@frameline/shared';
import { REPO_ROOT, sharedBroker, startPrivateBroker, type TestBroker } from '@frameline/shared/testing';
import { createCloudService, type CloudService } from '../src/service.js';
import { FAST_TEST_MODEL, testCloudConfig, waitFor } from './support.js';
import { fleetAlerts, fleetTopics, gauge } from './fleet-support.js';

const AGENT = join(REPO_ROOT, 'agent/bin/frameline-agent.js');
const logger = createLogger({ level: 'error', scope: 'test' });
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

type Cleanups = (() => Promise<unknown>)[];

/** Runs the cleanups last in, first out (node:test runs after hooks in the order they were added): agents, then the service, then the broker. */
function cleanups(t: TestContext): Cleanups {
  const list: Cleanups = [];
  t.after(async () => {
    for (const c of list.reverse()) await c().catch(() => {});
  });
  return list;
}

/** Starts a real agent process; stopped (SIGTERM) at cleanup unless it exited. */
function startAgent(after: Cleanups, broker: TestBroker, topics: Required<TopicSet>, camera: string, dir: string, delivery: Record<string, unknown> = {}): ChildProcess {
  const p = broker.props;
  const file = join(dir, `${camera}.json`);
  writeFileSync(file, JSON.stringify({
    camera: { id: camera, source: 'synthetic', width: 160, height: 120, fps: 10 },
    kafka: { brokers: [p['bootstrap.external']], passwordFile: p['sasl.agent.password.file'], caFile: p['ssl.ca'], connectionTimeout: '2s' },
    topics: { frames: topics.frames, backfill: topics.backfill, agents: topics.agents },
    delivery: { mode: 'reliable', sendTimeout: '3s', ...delivery },
    stateDir: join(dir, `state-${camera}`),
    status: { intervalSeconds: 1, temperatureFile: join(dir, 'no-such-sensor'), throttledFile: join(dir, 'no-such-sensor') },
    log: { level: 'error' },
  }));
  const agent = spawn(process.execPath, [AGENT, 'run', '--config', file], { stdio: ['ignore', 'ignore', 'inherit'] });
  after.push(async () => {
    if (agent.exitCode !== null || agent.signalCode !== null) return;
    agent.kill('SIGTERM');
    await new Promise((r) => agent.once('exit', r));
  });
  return agent;
}

function fleetConfig(broker: TestBroker, topics: Required<TopicSet>, fleet: Record<string, string>) {
  return testCloudConfig(broker, topics, { topics: { agents: topics.agents }, analysis: { enabled: false }, fleet: { checkInterval: '200ms', ...fleet } });
}

/** The distinct broker states one after another, as `read` returns them every `everyMs` until stopped. */
function transitions(read: () => Promise<string | undefined> | string | undefined, everyMs: number) {
  const seen: string[] = [];
  let on = true;
  const loop = (async () => {
    while (on) {
      const v = await Promise.resolve(read()).catch(() => undefined);
      if (v && seen.at(-1) !== v) seen.push(v);
      await sleep(everyMs);
    }
  })();
  return { seen, stop: async () => { on = false; await loop; } }; // stop() twice is fine
}

/** Whether `want` occurs in `seq` in this order (other entries may come between). */
const inOrder = (seq: string[], want: string[]) => want.every(((i) => (w: string) => (i = seq.indexOf(w, i) + 1) > 0)(0));

test('an agent whose broker goes away and comes back: spooling, catching-up, connected in the fleet view and /metrics, one agent-spooling alert', { timeout: 540_000 }, async (t) => {
  const CAMERA = 'CAMERA-5';
  const t0 = Date.now();
  const phase = (what: string) => t.diagnostic(`${((Date.now() - t0) / 1000).toFixed(1)} s: ${what}`);
  const after = cleanups(t);
  const broker = await startPrivateBroker('fleet-outage', 29660);
  phase('private broker up');
  after.push(() => broker.destroy());
  const topics = TOPICS; // kafka.sh up provisions the default set, the status topic with it
  const service = createCloudService(fleetConfig(broker, topics, { spoolingAfter: '12s', offlineAfter: '60s' }), { logger, model: FAST_TEST_MODEL });
  after.push(() => service.stop());
  await service.start();
  const taken: string[] = [];
  service.onAgentStatus((s: AgentStatus) => { if (s.camera === CAMERA && taken.at(-1) !== s.broker) taken.push(s.broker); });
  const port = service.http.address()!.port;
  const dir = mkdtempSync(join(tmpdir(), 'fl-fleet-outage-'));
  // Backfill to its own topic at 15 frames/s: the spool of the outage drains over many seconds, so catching-up lasts long enough to be seen.
  startAgent(after, broker, topics, CAMERA, dir, { backfill: 'separate', drainRate: { framesPerSec: 15 } });
  await waitFor('the agent healthy in the fleet view', () => service.fleet().find((a) => a.camera === CAMERA)?.health === 'healthy', 120_000);
  phase('service and agent up, the agent healthy in the fleet view');

  // spoolingAfter 12 s: the outage (8 s plus the broker's restart) spools longer; the few seconds the agent spools
  // while the broker shuts down (seen: 3.7 s, then empty again) are an episode of their own below it.
  const view = transitions(() => service.fleet().find((a) => a.camera === CAMERA)?.broker, 100);
  const metrics = transitions(async () => {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    return ['connected', 'spooling', 'catching-up', 'dropping', 'connecting'].find((state) => gauge(text, 'frameline_fleet_broker_state', { camera: CAMERA, state }) === 1);
  }, 200);
  after.push(() => Promise.all([view.stop(), metrics.stop()]));
  await broker.stop();
  phase('broker stopped');
  await sleep(8000);
  await broker.start();
  phase('broker started again');
  await waitFor('the agent connected again', () => inOrder(taken, ['spooling', 'catching-up', 'connected']), 180_000)
    .catch((err: Error) => assert.fail(`${err.message}: the cloud took ${taken.join(' -> ')}; view ${view.seen.join(' -> ')}`));
  phase(`the agent connected again: ${taken.join(' -> ')}`);
  await waitFor('the view and /metrics show connected', () => view.seen.at(-1) === 'connected' && metrics.seen.at(-1) === 'connected', 30_000);
  await view.stop();
  await metrics.stop();
  t.diagnostic(`statuses taken: ${taken.join(' -> ')}; view: ${view.seen.join(' -> ')}; /metrics: ${metrics.seen.join(' -> ')}`);
  assert.ok(inOrder(taken, ['connected', 'spooling', 'catching-up', 'connected']), `the cloud took ${taken.join(' -> ')}`);
  // The view holds the latest state only: sampled every 100 ms it may miss a short state (a reader catching
  // up reads several statuses at once), so the view is checked for where it ends, and the states passed
  // through are checked on the counter a Prometheus scrape would use.
  assert.equal(view.seen.at(-1), 'connected', `the fleet view showed ${view.seen.join(' -> ')}`);
  assert.equal(metrics.seen.at(-1), 'connected', `/metrics showed ${metrics.seen.join(' -> ')}`);
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const entered = (state: string) => gauge(text, 'frameline_fleet_broker_state_changes_total', { camera: CAMERA, state }) ?? 0;
  t.diagnostic(`broker state entries on /metrics: spooling ${entered('spooling')}, catching-up ${entered('catching-up')}, connected ${entered('connected')}`);
  for (const state of ['spooling', 'catching-up', 'connected']) assert.ok(entered(state) >= 1, `frameline_fleet_broker_state_changes_total{state="${state}"} is ${entered(state)}`);
  assert.equal(view.seen[0], 'connected');

  const alerts = await fleetAlerts(broker, topics.alerts, 1, 5000);
  t.diagnostic(`alerts: ${JSON.stringify(alerts.map((a) => [a.camera, a.kind, a.agent.spoolOldestAgeMs]))}`);
  assert.deepEqual(alerts.map((a) => `${a.camera} ${a.kind}`), [`${CAMERA} agent-spooling`], 'exactly one alert for the outage');
});

test('an agent killed with SIGKILL: one agent-offline after fleet.offlineAfter, cleared when it comes back with a new run id', { timeout: 240_000 }, async (t) => {
  const CAMERA = 'CAMERA-6';
  const broker = await sharedBroker();
  const topics = await fleetTopics(broker, 'fleet-kill');
  const after = cleanups(t);
  const service = createCloudService(fleetConfig(broker, topics, { offlineAfter: '4s' }), { logger, model: FAST_TEST_MODEL });
  after.push(() => service.stop());
  await service.start();
  const port = service.http.address()!.port;
  const row = () => service.fleet().find((a) => a.camera === CAMERA);
  const dir = mkdtempSync(join(tmpdir(), 'fl-fleet-kill-'));
  const first = startAgent(after, broker, topics, CAMERA, dir);
  await waitFor('the agent healthy in the fleet view', () => row()?.health === 'healthy', 120_000);
  const run1 = row()!.run;

  const killedAt = Date.now();
  first.kill('SIGKILL');
  await waitFor('the agent offline', () => row()?.health === 'offline', 60_000);
  t.diagnostic(`offline in the view ${((Date.now() - killedAt) / 1000).toFixed(1)} s after SIGKILL (fleet.offlineAfter 4 s)`);
  const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  assert.equal(gauge(metrics, 'frameline_fleet_up', { camera: CAMERA }), 0);
  let alerts = await fleetAlerts(broker, topics.alerts, 1, 3000);
  assert.deepEqual(alerts.map((a) => [a.camera, a.kind, a.run]), [[CAMERA, 'agent-offline', run1]], 'one alert, naming the killed run');

  startAgent(after, broker, topics, CAMERA, dir);
  await waitFor('the agent back with a new run', () => row()?.run !== run1 && row()?.health === 'healthy', 120_000);
  alerts = await fleetAlerts(broker, topics.alerts, 2, 0, 5000);
  assert.equal(alerts.length, 1, `no second alert once it is back: ${JSON.stringify(alerts.map((a) => [a.kind, a.run]))}`);
  assert.equal(gauge(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text(), 'frameline_fleet_up', { camera: CAMERA }), 1);
});
