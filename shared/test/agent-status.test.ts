import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeThrottled, parseAgentStatus, MAX_AGENT_STATUS_BYTES, type AgentStatus } from '../src/index.js';

const good: AgentStatus = {
  schema: 1, camera: 'CAMERA-1', version: '0.1.0', run: '6f1c2a4e-9d0b-4c55-8a8e-2b8f0f7d1c11', at: 1764000000123,
  uptimeSeconds: 12.5, captureFps: 9.8, sent: 120, dropped: { queueFull: 0, spoolFull: 3 },
  spool: { frames: 4, bytes: 400_000, oldestAgeMs: 2500 }, broker: 'catching-up', cameraState: 'running',
  lastError: null, pi: { socTempC: 61.3, throttled: decodeThrottled(0x50005) },
};
const bytes = (v: unknown) => Buffer.from(JSON.stringify(v));

test('a well-formed status parses back to the same value', () => {
  assert.deepEqual(parseAgentStatus(bytes(good)), good);
  const { pi: _pi, ...noPi } = good;
  assert.deepEqual(parseAgentStatus(bytes(noPi)), noPi, 'pi is optional (absent off a Pi)');
});

test('every malformed status is a reason string, never a throw', () => {
  const cases: [unknown, RegExp][] = [
    [null, /empty/],
    ['not json', /not JSON/],
    [[1, 2], /not a JSON object/],
    [{ ...good, schema: 2 }, /schema 2 is not 1/],
    [{ ...good, camera: 'FIELD/../../etc' }, /camera id/],
    [{ ...good, camera: 'x'.repeat(3000) }, /3000 characters/],
    [{ ...good, run: 'a b' }, /run is not/],
    [{ ...good, captureFps: -1 }, /captureFps/],
    [{ ...good, sent: Number.NaN }, /sent/],
    [{ ...good, dropped: { 'bad key!': 1 } }, /dropped/],
    [{ ...good, spool: { frames: 1, bytes: 1 } }, /spool/],
    [{ ...good, broker: 'fine' }, /broker is not one of/],
    [{ ...good, cameraState: 'ok' }, /cameraState is not one of/],
    [{ ...good, lastError: 'x'.repeat(600) }, /lastError/],
    [{ ...good, pi: { socTempC: 'hot' } }, /socTempC/],
    [{ ...good, pi: { throttled: { raw: 1.5 } } }, /throttled/],
  ];
  for (const [value, reason] of cases) {
    const v = value === null ? null : typeof value === 'string' ? Buffer.from(value) : bytes(value);
    const got = parseAgentStatus(v);
    assert.equal(typeof got, 'string', `${JSON.stringify(value)?.slice(0, 60)} should be refused`);
    assert.match(got as string, reason);
  }
  assert.match(parseAgentStatus(Buffer.alloc(MAX_AGENT_STATUS_BYTES + 1, 32)) as string, /over 8192/);
});

test('the firmware throttled bits decode as the Raspberry Pi documents them', () => {
  const t = decodeThrottled(0x50005);
  assert.equal(t.underVoltageNow, true);
  assert.equal(t.frequencyCappedNow, false);
  assert.equal(t.throttledNow, true);
  assert.equal(t.underVoltageOccurred, true);
  assert.equal(t.throttledOccurred, true);
  assert.equal(t.frequencyCappedOccurred, false);
  assert.deepEqual(Object.values(decodeThrottled(0)).filter((v) => v === true), []);
});
