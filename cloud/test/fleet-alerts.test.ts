// Fleet health from the agents' status topic, with two cloud instances in one
// consumer group on the real broker: statuses written as the agent user over
// EXTERNAL (TLS + SCRAM) with kafkajs, the records the agent writes. Both
// instances show the whole fleet and its gauges; the fleet alerts reach the
// alerts topic once per episode although two instances see every episode,
// also after the instance raising them stops and the other takes over.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createKafka, createLogger, type AgentStatus } from '@frameline/shared';
import { sharedBroker } from '@frameline/shared/testing';
import { createCloudService, type CloudService } from '../src/service.js';
import { FAST_TEST_MODEL, testCloudConfig, waitFor } from './support.js';
import { fleetAlerts, fleetTopics, gauge } from './fleet-support.js';

const logger = createLogger({ level: 'error', scope: 'test' });

function status(camera: string, run: string, over: Partial<AgentStatus> = {}): AgentStatus {
  return {
    schema: 1, camera, version: '0.1.0', run, at: Date.now(), uptimeSeconds: 5, captureFps: 10, sent: 50, dropped: {},
    spool: { frames: 0, bytes: 0, oldestAgeMs: null }, broker: 'connected', cameraState: 'running', lastError: null, ...over,
  };
}

test('two instances show the whole fleet; offline, spooling and throttled alerts reach video.alerts once per episode, across an owner change', { timeout: 240_000 }, async (t) => {
  const broker = await sharedBroker();
  const topics = await fleetTopics(broker, 'fleet');
  const groupId = `frameline-test-fleet-${Date.now()}`;
  const config = () => testCloudConfig(broker, topics, {
    kafka: { groupId },
    topics: { agents: topics.agents },
    analysis: { enabled: false },
    fleet: { offlineAfter: '3s', spoolingAfter: '2s', checkInterval: '200ms' },
  });
  const agentKafka = createKafka(broker.connection('agent', 'external', 'test-fleet-agent'), logger);
  const producer = agentKafka.producer();
  await producer.connect();
  const send = (s: AgentStatus) => producer.send({ topic: topics.agents, messages: [{ key: s.camera, value: JSON.stringify(s) }] });
  // A status written before the instances start: they read the topic from its beginning.
  await send(status('CAMERA-9', 'r9'));
  // Not a status: counted and skipped, never a crash.
  await producer.send({ topic: topics.agents, messages: [{ key: 'CAMERA-8', value: '{"schema":1,"camera":"CAMERA-8"}' }] });

  const services: CloudService[] = [createCloudService(config(), { logger, model: FAST_TEST_MODEL }), createCloudService(config(), { logger, model: FAST_TEST_MODEL })];
  const stopped = new Set<CloudService>();
  t.after(async () => {
    for (const s of services) if (!stopped.has(s)) await s.stop();
    await producer.disconnect();
  });
  const t0 = Date.now();
  const phase = (what: string) => t.diagnostic(`${((Date.now() - t0) / 1000).toFixed(1)} s: ${what}`);
  await Promise.all(services.map((s) => s.start()));
  phase('two instances started');

  // The agents: each sends its current state every 300 ms (the test sets it).
  const current = new Map<string, () => AgentStatus>([
    ['CAMERA-1', () => status('CAMERA-1', 'r1')],
    ['CAMERA-2', () => status('CAMERA-2', 'r2', { pi: { socTempC: 48.2, throttled: { raw: 0 } as never } })],
    ['CAMERA-9', () => status('CAMERA-9', 'r9')],
  ]);
  let sending = true;
  const loop = (async () => {
    while (sending) {
      await Promise.all([...current.values()].map((f) => send(f())));
      await new Promise((r) => setTimeout(r, 300));
    }
  })();
  t.after(async () => {
    sending = false;
    await loop;
  });
  const healthOf = (s: CloudService, camera: string) => s.fleet().find((a) => a.camera === camera);
  const port = (s: CloudService) => s.http.address()!.port;
  const metrics = async (s: CloudService) => (await fetch(`http://127.0.0.1:${port(s)}/metrics`)).text();

  await waitFor('both instances show three healthy agents', () => services.every((s) => s.fleet().length === 3 && s.fleet().every((a) => a.health === 'healthy')));
  for (const s of services) {
    const m = await metrics(s);
    assert.equal(gauge(m, 'frameline_fleet_up', { camera: 'CAMERA-1' }), 1);
    assert.equal(gauge(m, 'frameline_fleet_broker_state', { camera: 'CAMERA-1', state: 'connected' }), 1);
    assert.equal(gauge(m, 'frameline_fleet_soc_temperature_celsius', { camera: 'CAMERA-2' }), 48.2);
    assert.equal(gauge(m, 'frameline_fleet_soc_temperature_celsius', { camera: 'CAMERA-1' }), undefined, 'no temperature reported: no series');
    assert.equal(gauge(m, 'frameline_fleet_throttled', { camera: 'CAMERA-2', flag: 'under-voltage' }), 0);
    assert.match(m, /^frameline_fleet_statuses_invalid_total 1$/m);
  }
  phase('fleet and gauges on both instances');

  // CAMERA-1's broker goes away: it spools (the spool ages), then catches up, then is connected again.
  const spoolStart = Date.now();
  for (const [broker1, alive] of [['spooling', true], ['catching-up', true], ['connected', false]] as const) {
    current.set('CAMERA-1', () => status('CAMERA-1', 'r1', {
      broker: broker1, spool: alive ? { frames: 40, bytes: 400_000, oldestAgeMs: Date.now() - spoolStart } : { frames: 0, bytes: 0, oldestAgeMs: null },
    }));
    await waitFor(`CAMERA-1 ${broker1} in the view and in /metrics`, async () => services.every((s) => healthOf(s, 'CAMERA-1')?.broker === broker1)
      && gauge(await metrics(services[0]!), 'frameline_fleet_broker_state', { camera: 'CAMERA-1', state: broker1 }) === 1);
    if (broker1 === 'spooling') await waitFor('the spool older than 2 s', () => healthOf(services[0]!, 'CAMERA-1')?.health === 'failing');
    phase(`CAMERA-1 ${broker1}: ${JSON.stringify(healthOf(services[0]!, 'CAMERA-1')?.reasons)}`);
  }
  // CAMERA-2: under-voltage now, then fine again.
  current.set('CAMERA-2', () => status('CAMERA-2', 'r2', { pi: { socTempC: 60, throttled: { raw: 0x50005 } as never } }));
  await waitFor('CAMERA-2 throttled', () => services.every((s) => healthOf(s, 'CAMERA-2')?.throttledNow?.includes('under-voltage')));
  current.set('CAMERA-2', () => status('CAMERA-2', 'r2', { pi: { socTempC: 50, throttled: { raw: 0x50000 } as never } }));
  // CAMERA-9 is killed: no more statuses.
  current.delete('CAMERA-9');
  await waitFor('CAMERA-9 offline', () => services.every((s) => healthOf(s, 'CAMERA-9')?.health === 'offline'));
  assert.equal(gauge(await metrics(services[1]!), 'frameline_fleet_up', { camera: 'CAMERA-9' }), 0);
  assert.equal(services[0]!.fleet()[0]?.camera, 'CAMERA-9', 'worst first');
  phase('CAMERA-9 offline');

  let alerts = await fleetAlerts(broker, topics.alerts, 3, 3000);
  const kinds = alerts.map((a) => `${a.camera} ${a.kind}`).sort();
  t.diagnostic(`alerts: ${JSON.stringify(alerts.map((a) => [a.camera, a.kind, a.run, a.key]))}`);
  assert.deepEqual(kinds, ['CAMERA-1 agent-spooling', 'CAMERA-2 agent-throttled', 'CAMERA-9 agent-offline'], 'one alert per episode from two instances');
  const offline = alerts.find((a) => a.kind === 'agent-offline')!;
  assert.equal(offline.run, 'r9');
  assert.equal(offline.agent.broker, 'connected');

  // The instance raising alerts stops while CAMERA-9 is still offline: the other takes over and does not raise it again.
  const raised = await Promise.all(services.map(async (s) => gauge(await metrics(s), 'frameline_alerts_total', { kind: 'agent-offline' }) ?? 0));
  assert.deepEqual([...raised].sort(), [0, 1], `one instance raised it: ${raised}`);
  const owner = services[raised.indexOf(1)]!;
  const other = services[raised.indexOf(0)]!;
  await owner.stop();
  stopped.add(owner);
  phase('one instance stopped');
  // A new episode proves the other instance raises now: CAMERA-1's broker goes away again.
  const again = Date.now();
  current.set('CAMERA-1', () => status('CAMERA-1', 'r1', { broker: 'spooling', spool: { frames: 40, bytes: 400_000, oldestAgeMs: Date.now() - again } }));
  alerts = await fleetAlerts(broker, topics.alerts, 4, 3000);
  t.diagnostic(`alerts: ${JSON.stringify(alerts.map((a) => [a.camera, a.kind, a.run, a.key]))}`);
  assert.equal(alerts.filter((a) => a.kind === 'agent-spooling').length, 2, 'the second outage is a second episode');
  assert.equal(alerts.filter((a) => a.kind === 'agent-offline').length, 1, 'the offline episode raised before the owner change is not raised again');

  // CAMERA-9 comes back with a new run: the episode ends; killed again, a second alert.
  current.set('CAMERA-9', () => status('CAMERA-9', 'r9b'));
  await waitFor('CAMERA-9 back', () => healthOf(other, 'CAMERA-9')?.health === 'healthy');
  current.delete('CAMERA-9');
  alerts = await fleetAlerts(broker, topics.alerts, 5, 3000);
  const offlines = alerts.filter((a) => a.kind === 'agent-offline');
  assert.deepEqual(offlines.map((a) => a.run), ['r9', 'r9b'], 'cleared by the new run, then one alert for the next episode');
  phase('CAMERA-9 back and offline again: a second alert');
});
