// A 16000×16000 JPEG of about 1.5 MB must not make the Pi decode 256 Mpx:
// the motion gate and resize read the size from the JPEG header first and
// drop (and count) such frames; sharp's limitInputPixels backs them up.
import { strict as assert } from 'node:assert';
import { before, test } from 'node:test';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '@frameline/shared';
import { pixelBombJpeg, solidJpeg } from '@frameline/shared/testing/jpegs';
import { jpegSize, type CapturedFrame } from '../src/camera/index.js';
import { createPipeline, createSharpCodec, type FrameCodec, type ReadyFrame } from '../src/pipeline/index.js';
import { loadAgentConfig } from '../src/config.js';
import { captureLog } from './fixtures/helpers.js';

let bomb: Buffer;
let normal: Buffer[];

before(async () => {
  bomb = await pixelBombJpeg();
  normal = await Promise.all(['#203040', '#c0a080', '#4060ff'].map((c) => solidJpeg(320, 240, c)));
});

function frame(jpeg: Buffer, capturedAt: number): CapturedFrame {
  return { jpeg, capturedAt, ...jpegSize(jpeg)! };
}

async function* stream(frames: CapturedFrame[]): AsyncGenerator<CapturedFrame> {
  yield* frames;
}

/** The sharp codec; fails the test if it is ever handed the bomb. */
function guardedCodec(): FrameCodec {
  const inner = createSharpCodec();
  const guard = (jpeg: Buffer) => assert.ok(jpegSize(jpeg)!.width < 16000, 'the bomb reached the decoder');
  return {
    grayThumbnail: (jpeg, w, h) => (guard(jpeg), inner.grayThumbnail(jpeg, w, h)),
    resize: (jpeg, box, q) => (guard(jpeg), inner.resize(jpeg, box, q)),
  };
}

test('the motion gate and resize drop a 16000×16000 JPEG before decoding it, counted with its reason', async () => {
  assert.deepEqual(jpegSize(bomb), { width: 16000, height: 16000 });
  console.log(`pixel bomb: ${bomb.length} bytes for ${16000 * 16000} pixels`);
  const { logger, lines } = captureLog();
  const pipeline = createPipeline({
    motion: { threshold: 0.001, keepAliveSeconds: 1 }, resize: { maxWidth: 160, maxHeight: 120 }, codec: guardedCodec(), waitingFrames: 10,
  }, logger);
  const out: ReadyFrame[] = [];
  const frames = [frame(normal[0]!, 0), frame(bomb, 100), frame(normal[1]!, 200), frame(bomb, 300), frame(normal[2]!, 400)];
  for await (const f of pipeline.run(stream(frames))) out.push(f);
  const stats = pipeline.stats();
  console.log('pipeline stats', stats);
  assert.equal(out.length, 3, 'the three normal frames pass');
  assert.ok(out.every((f) => f.width === 160 && f.height === 120));
  assert.equal(stats.droppedTooManyPixels, 2);
  assert.equal(stats.failed, 0, 'refused from the header, not a decode that failed');
  assert.ok(lines.some((l) => /dropping a frame before decoding it/.test(l) && /16000×16000/.test(l)), lines.join('\n'));
});

test('sharp\'s limitInputPixels backs the header check in the codec itself', async () => {
  const codec = createSharpCodec(100 * 100);
  await assert.rejects(codec.grayThumbnail(normal[0]!, 64, 36), /pixel limit/i);
  await assert.rejects(codec.resize(normal[0]!, { maxWidth: 10 }, 80), /pixel limit/i);
  assert.equal((await createSharpCodec().grayThumbnail(normal[0]!, 64, 36)).length, 64 * 36);
});

test('config: maxFramePixels below the camera\'s own size, and hostile camera ids, are refused (exit 78 path)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fl-pixels-'));
  const load = (over: object) => {
    const file = join(dir, `${Math.random()}.json`);
    writeFileSync(file, JSON.stringify({ kafka: { security: 'plaintext' }, ...over }));
    return () => loadAgentConfig({ file, env: {} });
  };
  assert.throws(load({ camera: { width: 4608, height: 2592 }, pipeline: { maxFramePixels: 1920 * 1080 } }), (e: unknown) => e instanceof ConfigError && /pipeline\.maxFramePixels/.test(e.message));
  assert.doesNotThrow(load({ camera: { width: 4608, height: 2592 } }), 'the default fits Camera Module 3');
  for (const id of ['FIELD/../../etc', 'a..b', 'x'.repeat(3000), 'cam 1', '']) {
    assert.throws(load({ camera: { id } }), (e: unknown) => e instanceof ConfigError && /camera\.id/.test(e.message) && e.message.length < 1000, id.slice(0, 20));
  }
});
