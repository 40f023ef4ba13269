import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { createLogger, kafkaLogCreator, type Level } from '../src/index.js';

function capture(journald: boolean, level: Level = 'debug') {
  const stream = new PassThrough();
  const lines: string[] = [];
  stream.on('data', (b: Buffer) => lines.push(...b.toString().split('\n').filter(Boolean)));
  const logger = createLogger({ journald, level, stream });
  return { logger, lines, flush: () => new Promise((r) => setImmediate(r)) };
}

test('under journald every line starts with its syslog priority', async () => {
  const { logger, lines, flush } = capture(true);
  const log = logger.child('agent').child('delivery', { camera: 'CAMERA-1' });
  log.error('broker unreachable', { attempt: 3 });
  log.warn('spool at 90%');
  log.info('connected');
  log.debug('batch sent', { frames: 12 });
  await flush();
  assert.deepEqual(lines.map((l) => l.slice(0, 3)), ['<3>', '<4>', '<6>', '<7>']);
  assert.equal(lines[0], '<3>[agent/delivery] broker unreachable camera=CAMERA-1 attempt=3');
});

test('in a terminal lines are readable, timestamped and colourless', async () => {
  const { logger, lines, flush } = capture(false);
  logger.child('cloud').warn('lag high', { lagMs: 1200, note: 'two words' });
  await flush();
  assert.match(lines[0]!, /^\d{4}-\d\d-\d\dT[\d:.]+Z WARN  \[cloud\] lag high lagMs=1200 note="two words"$/);
  assert.doesNotMatch(lines[0]!, /\x1b\[/);
});

test('level filtering drops debug lines at info', async () => {
  const { logger, lines, flush } = capture(false, 'info');
  logger.debug('hidden');
  logger.info('shown');
  await flush();
  assert.equal(lines.length, 1);
});

test('secrets never reach a log line: registered values and sensitive field names are masked', async () => {
  const { logger, lines, flush } = capture(false);
  const child = logger.child('kafka');
  logger.redact('hunter2-very-secret');
  child.info('auth with hunter2-very-secret failed', { user: 'agent', password: 'hunter2-very-secret', saslPassword: 'other' });
  child.error('nested', { config: { sasl: { password: 'hunter2-very-secret' } } });
  // kafkajs log entries pass through the same masking
  kafkaLogCreator(logger)(0)({ namespace: 'x', level: 1, label: 'ERROR', log: { message: 'SASL hunter2-very-secret', timestamp: '' } });
  await flush();
  assert.equal(lines.length, 3);
  for (const line of lines) assert.doesNotMatch(line, /hunter2|other/);
  assert.match(lines[0]!, /password=\*\*\*/);
});

test('kafkajs errors become warnings, and repeats within a minute drop to debug', async () => {
  const { logger, lines, flush } = capture(false, 'info');
  const kafkaLog = kafkaLogCreator(logger)(0);
  for (let i = 0; i < 50; i++) kafkaLog({ namespace: 'Connection', level: 1, label: 'ERROR', log: { message: 'Connection error: connect ECONNREFUSED', broker: 'b:9092', timestamp: '' } });
  kafkaLog({ namespace: 'Producer', level: 2, label: 'WARN', log: { message: 'Limiting retries for the idempotent producer may invalidate EoS guarantees', timestamp: '' } });
  await flush();
  assert.equal(lines.length, 1, lines.join('\n'));
  assert.match(lines[0]!, /WARN {2}\[kafka\] Connection error: connect ECONNREFUSED broker=b:9092/);
});
