// The soak's own parts, without a broker: the frame ledger finds lost,
// duplicated and reordered frames, and the link relay's faults do what they
// claim (silent holds bytes and delivers them after `up`, reset cuts every
// connection and refuses new ones).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, createServer, type Socket } from 'node:net';
import { freePort } from '@frameline/shared/testing';
import { createLedger } from './ledger.js';
import { startLinkProxy } from './link-proxy.js';

test('ledger: a frame missing from the topic and the spool is lost; resends are duplicates; spooled and dropped frames are accounted for', () => {
  const ledger = createLedger();
  const run = 'r1';
  for (const seq of [0, 1, 2, 4, 3, 4, 7]) ledger.add({ partition: 0, offset: 0, camera: 'CAMERA-1', run, seq });
  // 0..9 submitted: 5 dropped by policy (one frame), 6 missing, 8 and 9 still in the spool.
  const [c] = ledger.settle([{ camera: 'CAMERA-1', run, submitted: 10, dropped: 1, inSpool: [8, 9] }]);
  assert.equal(c!.delivered, 6);
  assert.equal(c!.duplicated, 1);
  assert.equal(c!.reordered, 1, 'seq 3 arrived after seq 4');
  assert.equal(c!.inSpoolAtEnd, 2);
  assert.equal(c!.lost, 1, 'two missing (5, 6), one of them explained by the drop count');
  assert.deepEqual(c!.lostExamples, ['r1/5', 'r1/6']);

  const clean = createLedger();
  for (let seq = 0; seq < 5; seq++) clean.add({ partition: 1, offset: seq, camera: 'CAMERA-2', run: 'r2', seq });
  const [d] = clean.settle([{ camera: 'CAMERA-2', run: 'r2', submitted: 3, dropped: 0, inSpool: [] }]);
  assert.equal(d!.lost, 0);
  assert.equal(d!.submitted, 5, 'frames on the topic beyond the last count were submitted too');
});

function once(socket: Socket, event: string): Promise<unknown> {
  return new Promise((resolve) => socket.once(event, resolve));
}

test('link relay: silent holds traffic until up, reset cuts and refuses connections', async () => {
  const echo = createServer((s) => s.pipe(s));
  await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
  const upstream = { host: '127.0.0.1', port: (echo.address() as { port: number }).port };
  const proxy = await startLinkProxy({ host: '127.0.0.1', port: await freePort() }, upstream);
  const [host, port] = [proxy.address.split(':')[0]!, Number(proxy.address.split(':')[1])];
  try {
    const c = connect(port, host);
    c.on('error', () => {}); // the reset below
    await once(c, 'connect');
    c.write('a');
    assert.equal(String(await once(c, 'data')), 'a');

    proxy.set('silent');
    const got: string[] = [];
    c.on('data', (b: Buffer) => got.push(b.toString()));
    c.write('b');
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(got, [], 'nothing crosses a silent link');
    proxy.set('up');
    while (got.join('') !== 'b') await new Promise((r) => setTimeout(r, 20));

    proxy.set('reset');
    await once(c, 'close');
    const refused = connect(port, host);
    refused.on('error', () => {});
    await once(refused, 'close');
    assert.ok(proxy.stats().reset >= 2, 'the open connection and the new one were reset');

    proxy.set('up');
    const again = connect(port, host);
    await once(again, 'connect');
    again.write('c');
    assert.equal(String(await once(again, 'data')), 'c');
    again.destroy();
  } finally {
    await proxy.close();
    await new Promise((r) => echo.close(r));
  }
});
