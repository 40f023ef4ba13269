// The fleet state's rules without a broker: episodes open once and close when
// their condition clears, the view sorts worst first, the agent count is
// bounded, and keys follow from the statuses alone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AgentStatus } from '@frameline/shared';
import { createFleetState, fleetAlertKey } from '../src/fleet/state.js';

const OPTIONS = { maxAgents: 3, offlineAfterMs: 10_000, spoolingAfterMs: 5000, forgetAfterMs: 60_000 };

export function status(camera: string, at: number, over: Partial<AgentStatus> = {}): AgentStatus {
  return {
    schema: 1, camera, version: '0.1.0', run: `run-${camera}`, at, uptimeSeconds: 10, captureFps: 10, sent: 100, dropped: {},
    spool: { frames: 0, bytes: 0, oldestAgeMs: null }, broker: 'connected', cameraState: 'running', lastError: null, ...over,
  };
}

test('agent-offline opens once when statuses stop, and a fresh status (a new run) closes it', () => {
  const fleet = createFleetState(OPTIONS);
  fleet.observe(status('CAMERA-1', 1000), 1000);
  assert.deepEqual(fleet.check(5000), []);
  const [offline] = fleet.check(11_001);
  assert.equal(offline?.kind, 'agent-offline');
  assert.equal(offline?.key, fleetAlertKey('CAMERA-1', 'run-CAMERA-1', 'agent-offline', 1000), 'the key follows from the last status');
  assert.equal(fleet.view(11_001)[0]?.health, 'offline');
  fleet.markRaised([offline!.key]);
  assert.deepEqual(fleet.check(20_000), [], 'raised once per episode');
  fleet.observe(status('CAMERA-1', 21_000, { run: 'run-2' }), 21_000);
  assert.deepEqual(fleet.check(21_000), []);
  assert.equal(fleet.view(21_000)[0]?.health, 'healthy');
  const [again] = fleet.check(40_000);
  assert.ok(again && again.key !== offline!.key, 'a second outage is a new episode with its own key');
  assert.equal(again.run, 'run-2');
});

test('agent-spooling: one episode from the first status over the threshold until the spool is young again', () => {
  const fleet = createFleetState(OPTIONS);
  const spool = (oldestAgeMs: number | null, broker: AgentStatus['broker']) => ({ spool: { frames: 5, bytes: 5000, oldestAgeMs }, broker });
  fleet.observe(status('CAMERA-1', 1000, spool(2000, 'spooling')), 1000);
  assert.deepEqual(fleet.check(1000), [], 'below the threshold');
  assert.equal(fleet.view(1000)[0]?.health, 'degraded');
  fleet.observe(status('CAMERA-1', 2000, spool(6000, 'spooling')), 2000);
  const [first] = fleet.check(2000);
  assert.equal(first?.kind, 'agent-spooling');
  assert.equal(first?.since, 2000);
  assert.equal(fleet.view(2000)[0]?.health, 'failing');
  fleet.markRaised([first!.key]);
  fleet.observe(status('CAMERA-1', 3000, spool(7000, 'catching-up')), 3000);
  assert.deepEqual(fleet.check(3000), [], 'catching up with an old spool: the same episode');
  fleet.observe(status('CAMERA-1', 4000, spool(null, 'connected')), 4000);
  assert.deepEqual(fleet.check(4000), []);
  fleet.observe(status('CAMERA-1', 9000, spool(8000, 'spooling')), 9000);
  const [second] = fleet.check(9000);
  assert.ok(second && second.key !== first!.key && second.since === 9000, 'the next outage is a new episode');
});

test('agent-spooling: an episode that ended before any check (or while no instance held the alerts) is still raised, once', () => {
  const fleet = createFleetState(OPTIONS);
  const spool = (oldestAgeMs: number | null, broker: AgentStatus['broker']) => ({ spool: { frames: 5, bytes: 5000, oldestAgeMs }, broker });
  // Statuses of a whole outage read between two checks: catching up with an old spool, then connected.
  fleet.observe(status('CAMERA-1', 1000, spool(9000, 'catching-up')), 1000);
  fleet.observe(status('CAMERA-1', 1500, spool(null, 'connected')), 1500);
  const [late] = fleet.check(2000);
  assert.equal(late?.kind, 'agent-spooling', 'the episode happened, so it is raised');
  assert.equal(late?.since, 1000);
  fleet.markRaised([late!.key]);
  assert.deepEqual(fleet.check(3000), [], 'once');
  fleet.observe(status('CAMERA-1', 4000, spool(null, 'connected')), 4000);
  assert.deepEqual(fleet.check(4000), []);
});

test('agent-throttled from the firmware bits now, decoded from raw; past bits alone are no episode', () => {
  const fleet = createFleetState(OPTIONS);
  fleet.observe(status('CAMERA-1', 1000, { pi: { socTempC: 71.5, throttled: { raw: 0x50000 } as never } }), 1000);
  assert.deepEqual(fleet.check(1000), [], 'occurred since boot, not now');
  assert.deepEqual(fleet.view(1000)[0]?.throttledNow, []);
  // flags claimed false by the producer, but bit 0 (under-voltage now) set: the raw bits win
  fleet.observe(status('CAMERA-1', 2000, { pi: { throttled: { raw: 0x50005, underVoltageNow: false } as never } }), 2000);
  const [throttled] = fleet.check(2000);
  assert.equal(throttled?.kind, 'agent-throttled');
  const row = fleet.view(2000)[0]!;
  assert.deepEqual(row.throttledNow, ['under-voltage', 'throttled']);
  assert.equal(row.health, 'failing');
  assert.equal(row.socTempC, undefined, 'no temperature in this status: absent, not 0');
});

test('the view sorts worst first; agents beyond maxAgents are refused; silent ones are forgotten', () => {
  const fleet = createFleetState(OPTIONS);
  fleet.observe(status('CAMERA-1', 0), 0);
  fleet.observe(status('CAMERA-2', 0, { cameraState: 'stalled' }), 0);
  fleet.observe(status('CAMERA-3', 0, { broker: 'catching-up' }), 0);
  assert.deepEqual(fleet.observe(status('CAMERA-4', 0), 0), { accepted: false });
  assert.equal(fleet.size(), 3);
  assert.deepEqual(fleet.view(1000).map((r) => [r.camera, r.health]), [['CAMERA-2', 'failing'], ['CAMERA-3', 'degraded'], ['CAMERA-1', 'healthy']]);
  fleet.observe(status('CAMERA-2', 20_000), 20_000);
  fleet.check(20_000);
  assert.deepEqual(fleet.view(20_000).map((r) => [r.camera, r.health]), [['CAMERA-1', 'offline'], ['CAMERA-3', 'offline'], ['CAMERA-2', 'healthy']]);
  fleet.check(70_000);
  assert.deepEqual(fleet.view(70_000).map((r) => r.camera), ['CAMERA-2'], 'silent past forgetAfter: gone');
  fleet.remove('CAMERA-2');
  assert.equal(fleet.size(), 0);
});

test('silence while this instance could not read the status topic is no evidence of an offline agent', () => {
  const fleet = createFleetState(OPTIONS);
  fleet.observe(status('CAMERA-1', 0), 0);
  // the cloud lost the broker from 5 s to 15 s: the agent's silence counts from 15 s
  assert.deepEqual(fleet.check(20_000, 15_000), []);
  assert.equal(fleet.view(20_000, 15_000)[0]?.health, 'healthy');
  assert.equal(fleet.check(25_001, 15_000)[0]?.kind, 'agent-offline');
});
