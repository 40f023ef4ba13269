import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { classifyCameraLine, logLines } from '../src/camera/stderr-log.js';
import { captureLog } from './fixtures/helpers.js';

test('camera stderr: errors are warnings, per-frame progress and scaler notes are debug, the rest info', () => {
  assert.equal(classifyCameraLine('ERROR: *** no cameras available ***'), 'warn');
  assert.equal(classifyCameraLine('#123 (30.00 fps) exp 33251.00 ag 8.00 dg 1.00'), 'debug');
  assert.equal(classifyCameraLine('[swscaler @ 0x55f8ec518700] deprecated pixel format used, make sure you did set range correctly'), 'debug');
  assert.equal(classifyCameraLine('Mode selection for 1280:720:12:P'), 'info');
});

test('camera stderr while the agent stops the process is logged at debug, not as warnings', async () => {
  const { logger, find } = captureLog();
  const stream = new PassThrough();
  let stopping = false;
  logLines(stream, logger, { pid: 1 }, { quiet: () => stopping });
  stream.write('Error opening output file\n');
  await new Promise((r) => setImmediate(r));
  stopping = true;
  stream.write('Error writing trailer of pipe:: Connection reset by peer\n');
  await new Promise((r) => setImmediate(r));
  assert.equal(find('WARN', 'Error opening output file').length, 1);
  assert.equal(find('WARN', 'Error writing trailer').length, 0);
  assert.equal(find('DEBUG', 'Error writing trailer').length, 1);
});
