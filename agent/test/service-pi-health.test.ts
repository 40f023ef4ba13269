// Pi health from stand-in sysfs files: a normal Pi, an under-voltage Pi
// (0x50005: under-voltage and throttled now, both also since boot), and a
// machine without the files, where the fields must be absent, not zero.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describePiHealth, hasPiHealth, parseTemperature, parseThrottled, readPiHealth } from '../src/service/pi-health.js';

function standIn(temp: string | null, throttled: string | null): { temperatureFile: string; throttledFile: string } {
  const dir = mkdtempSync(join(tmpdir(), 'fl-pi-health-'));
  const files = { temperatureFile: join(dir, 'temp'), throttledFile: join(dir, 'get_throttled') };
  if (temp !== null) writeFileSync(files.temperatureFile, temp);
  if (throttled !== null) writeFileSync(files.throttledFile, throttled);
  return files;
}

test('a healthy Pi: temperature in °C from millidegrees, throttled bits all clear', async () => {
  const pi = await readPiHealth(standIn('48312\n', '0\n'));
  assert.equal(pi.socTempC, 48.3);
  assert.equal(pi.throttled?.raw, 0);
  assert.equal(pi.throttled?.underVoltageNow, false);
  assert.equal(pi.throttled?.throttledOccurred, false);
  assert.equal(describePiHealth(pi), 'SoC 48.3°C');
});

test('an under-voltage Pi (get_throttled "50005"): under-voltage and throttled now and since boot', async () => {
  const pi = await readPiHealth(standIn('81005\n', '50005\n'));
  assert.equal(pi.socTempC, 81);
  const t = pi.throttled!;
  assert.equal(t.raw, 0x50005);
  assert.deepEqual(
    [t.underVoltageNow, t.frequencyCappedNow, t.throttledNow, t.softTempLimitNow, t.underVoltageOccurred, t.frequencyCappedOccurred, t.throttledOccurred, t.softTempLimitOccurred],
    [true, false, true, false, true, false, true, false],
  );
  assert.equal(describePiHealth(pi), 'SoC 81.0°C, UNDER-VOLTAGE, THROTTLED');
});

test('vcgencmd-style text ("throttled=0x80008") reads the same bits', () => {
  assert.equal(parseThrottled('throttled=0x80008\n'), 0x80008);
  assert.equal(parseThrottled('0x0'), 0);
});

test('a machine without the files: both fields absent, not zero', async () => {
  const pi = await readPiHealth(standIn(null, null));
  assert.deepEqual(pi, {});
  assert.equal('socTempC' in pi, false);
  assert.equal('throttled' in pi, false);
  assert.equal(hasPiHealth(pi), false);
  assert.equal(describePiHealth(pi), '');
});

test('only the thermal zone present (a Pi kernel without get_throttled): throttled absent', async () => {
  const pi = await readPiHealth(standIn('55000', null));
  assert.deepEqual(pi, { socTempC: 55 });
});

test('unreadable or garbled contents count as absent, never as a number', async () => {
  assert.equal(parseTemperature(''), undefined);
  assert.equal(parseTemperature('hot'), undefined);
  assert.equal(parseTemperature('48.3'), undefined);
  assert.equal(parseThrottled('zz'), undefined);
  assert.equal(parseThrottled('123456789'), undefined, 'more than 32 bits');
  assert.deepEqual(await readPiHealth(standIn('not a number', 'nope')), {});
  // A directory where a file should be (EISDIR) is absent too.
  const dir = mkdtempSync(join(tmpdir(), 'fl-pi-health-'));
  assert.deepEqual(await readPiHealth({ temperatureFile: dir, throttledFile: dir }), {});
});
