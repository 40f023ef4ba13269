// The send loop's decisions, in seconds and without a broker: a Kafka-like
// link whose send() succeeds or fails as each test says stands in for the
// producer. It checks only what the loop does with an answer (which frames
// go in the next request, what is counted); what Kafka itself does is
// checked against the real broker in delivery*.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, encodeFrame, recordSize, type FrameMessage, type KafkaConnection } from '@frameline/shared';
import { createMemoryBuffer, type FrameBuffer, type Item } from '../src/delivery/buffer.js';
import type { BrokerState } from '../src/delivery/link.js';
import { decideFrame, type FlowState, type Wiring } from '../src/delivery/policy.js';
import { runLane, type Lane } from '../src/delivery/send-loop.js';
import { createSignal } from '../src/delivery/signal.js';
import { createSpoolBuffer } from '../src/delivery/spool-buffer.js';
import { createTally } from '../src/delivery/tally.js';
import type { DropReason } from '../src/delivery/types.js';
import { waitFor } from '@frameline/shared/testing';

const logger = createLogger({ level: 'error', journald: false });
const kafka: KafkaConnection = { brokers: ['127.0.0.1:9'], clientId: 'unit', security: 'sasl_ssl', username: 'agent' };

function item(seq: number): Item {
  const msg = encodeFrame({ camera: 'CAMERA-1', run: 'run-c', seq, capturedAt: 1_700_000_000_000 + seq, width: 8, height: 8, jpeg: Buffer.alloc(100, seq) });
  return { msg: { key: msg.key, value: msg.value, timestamp: msg.timestamp, headers: msg.headers }, size: recordSize(msg), submittedAt: Date.now() };
}

const seqsOf = (messages: FrameMessage[]) => messages.map((m) => Number(m.headers['fl-seq']));
const kafkaError = (type: string | undefined, message: string) => Object.assign(new Error(message), type ? { type } : {});

/** A lane over `sources` with a stand-in link; `answer` decides each request (throw to fail it). */
function harness(sources: (h: { drop: (r: DropReason, n: number) => void }) => { lane: Omit<Lane, 'name' | 'topic' | 'flushOnStop'>; memory: ReturnType<typeof createMemoryBuffer> }, answer: (seqs: number[], call: number) => void) {
  const tally = createTally();
  const drop = (reason: DropReason, n: number) => (tally.dropped[reason] += n);
  const { lane, memory } = sources({ drop });
  const changed = createSignal();
  const stopSignal = createSignal();
  const requests: { seqs: number[]; ok: boolean }[] = [];
  const failures: string[] = [];
  const link = {
    state: 'connected' as BrokerState,
    partitions: () => 3,
    async send(_topic: string, messages: FrameMessage[]) {
      const seqs = seqsOf(messages);
      try {
        answer(seqs, requests.length);
      } catch (e) {
        requests.push({ seqs, ok: false });
        throw e;
      }
      requests.push({ seqs, ok: true });
    },
  };
  let closing = false;
  const latencies: boolean[] = [];
  const run = runLane(
    { name: 'frames', topic: 'video.frames', flushOnStop: true, ...lane },
    {
      link,
      connection: {
        sendFailed: async (error) => {
          failures.push(`${error.remedy}: ${error.message}`);
          link.state = 'down';
        },
        sendSucceeded: () => undefined,
        refused: (denial, topics) => {
          failures.push(`refused ${denial.resource} on ${topics.join(',')}: ${denial.detail}`);
          link.state = 'down';
        },
      },
      kafka,
      limits: { maxBatchFrames: 4, maxBatchBytes: 1 << 20, partitioning: 'key' },
      tally,
      log: logger,
      changed,
      stopSignal,
      stopping: () => false,
      closing: () => closing,
      settle: () => changed.notify(),
      onSent: (_ms, sample) => latencies.push(sample.spooled),
    },
  );
  return {
    tally,
    memory,
    requests,
    failures,
    latencies,
    submit(...seqs: number[]) {
      for (const s of seqs) memory.accept(item(s));
      changed.notify();
    },
    reconnect() {
      link.state = 'connected';
      changed.notify();
    },
    async stop() {
      closing = true;
      changed.notify();
      stopSignal.notify();
      await run.done;
    },
  };
}

const memoryOnly = ({ drop }: { drop: (r: DropReason, n: number) => void }) => {
  const memory = createMemoryBuffer({ maxFrames: 100, maxBytes: 1 << 20 }, { to: 'drop' }, drop);
  return { memory, lane: { sources: [memory] as FrameBuffer[] } };
};

test('frames go out in order, at most maxBatchFrames per request, each acknowledged frame counted and timed once', async () => {
  const h = harness(memoryOnly, () => undefined);
  h.submit(0, 1, 2, 3, 4, 5);
  await waitFor('six frames acknowledged', () => h.tally.acked === 6);
  await h.stop();
  assert.deepEqual(h.requests.flatMap((r) => r.seqs), [0, 1, 2, 3, 4, 5]);
  assert.ok(h.requests.every((r) => r.seqs.length <= 4));
  assert.deepEqual(h.latencies, [false, false, false, false, false, false]);
});

test('records the broker refuses are resent in halves until the one refused record is dropped and counted; the rest are delivered', async () => {
  const h = harness(memoryOnly, (seqs) => {
    if (seqs.includes(1)) throw kafkaError('MESSAGE_TOO_LARGE', 'The request included a message larger than the max message size');
  });
  h.submit(0, 1, 2);
  await waitFor('frames 0 and 2 acknowledged', () => h.tally.acked === 2 && h.tally.dropped.rejected === 1);
  await h.stop();
  assert.deepEqual(h.requests, [
    { seqs: [0, 1, 2], ok: false },
    { seqs: [0, 1], ok: false },
    { seqs: [0], ok: true },
    { seqs: [1, 2], ok: false },
    { seqs: [1], ok: false },
    { seqs: [2], ok: true },
  ]);
  assert.deepEqual(h.failures, [], 'a refused record is not a reason to reconnect');
});

test('a broker error on a memory batch: live drops it (sendFailed) and waits for the connection; nothing is resent', async () => {
  const h = harness(memoryOnly, (_seqs, call) => {
    if (call === 0) throw kafkaError(undefined, 'connect ECONNREFUSED 127.0.0.1:9');
  });
  h.submit(0, 1);
  await waitFor('the failure reported', () => h.failures.length === 1);
  assert.match(h.failures[0]!, /^reconnect: nothing accepts connections/);
  assert.equal(h.tally.dropped.sendFailed, 2);
  h.submit(2);
  h.reconnect();
  await waitFor('frame 2 acknowledged', () => h.tally.acked === 1);
  await h.stop();
  assert.deepEqual(h.requests.map((r) => r.seqs), [[0, 1], [2]]);
});

test('an ACL refusal of a produce request is reported once, not retried, and its frames go where undeliverable frames go (the spool)', async () => {
  let spool!: FrameBuffer;
  const h = harness(({ drop }) => {
    spool = createMemoryBuffer({ maxFrames: 100, maxBytes: 1 << 20 }, { to: 'drop' }, drop);
    const memory = createMemoryBuffer({ maxFrames: 100, maxBytes: 1 << 20 }, { to: 'buffer', buffer: spool }, drop);
    return { memory, lane: { sources: [spool, memory] } };
  }, () => {
    throw kafkaError('TOPIC_AUTHORIZATION_FAILED', 'Not authorized to access topics: [Topic authorization failed]');
  });
  h.submit(0, 1, 2);
  await waitFor('the refusal reported', () => h.failures.length === 1);
  await h.stop();
  assert.match(h.failures[0]!, /^refused topic on video\.frames: Not authorized/);
  assert.equal(h.requests.length, 1, 'not retried');
  assert.equal(spool.size().frames, 3, 'the refused frames are kept, not dropped');
  assert.equal(h.tally.dropped.rejected + h.tally.dropped.sendFailed, 0);
});

test('a broker error on a memory batch with the spool ahead of memory (inline): the same records come back first, in one request of the same size', async () => {
  let spool!: FrameBuffer;
  const h = harness(({ drop }) => {
    // A second memory buffer stands in for the spool: the loop sees only the interface.
    spool = createMemoryBuffer({ maxFrames: 100, maxBytes: 1 << 20 }, { to: 'drop' }, drop);
    const memory = createMemoryBuffer({ maxFrames: 100, maxBytes: 1 << 20 }, { to: 'buffer', buffer: spool }, drop);
    return { memory, lane: { sources: [spool, memory] } };
  }, (_seqs, call) => {
    if (call === 0) throw kafkaError('NOT_LEADER_FOR_PARTITION', 'This server is not the leader for that topic-partition');
  });
  h.submit(0, 1, 2);
  await waitFor('the failure reported', () => h.failures.length === 1);
  assert.equal(spool.size().frames, 3, 'the failed batch went to the spool');
  // Frames that arrive meanwhile are spilled behind it, as delivery's settle() does.
  h.submit(3, 4, 5, 6);
  h.memory.spill('queueFull');
  h.reconnect();
  await waitFor('all acknowledged', () => h.tally.acked === 7);
  await h.stop();
  assert.deepEqual(h.requests.map((r) => r.seqs), [[0, 1, 2], [0, 1, 2], [3, 4, 5, 6]]);
  assert.deepEqual(h.latencies.length, 7);
});

test('a broker error on a memory batch whose spool drains on another lane (separate): this lane carries on with the newest frames, uncapped', async () => {
  let spool!: FrameBuffer;
  const h = harness(({ drop }) => {
    spool = createMemoryBuffer({ maxFrames: 100, maxBytes: 1 << 20 }, { to: 'drop' }, drop);
    const memory = createMemoryBuffer({ maxFrames: 100, maxBytes: 1 << 20 }, { to: 'buffer', buffer: spool }, drop);
    return { memory, lane: { sources: [memory] } };
  }, (_seqs, call) => {
    if (call === 0) throw kafkaError(undefined, 'Connection timeout');
  });
  h.submit(0, 1);
  await waitFor('the failure reported', () => h.failures.length === 1);
  h.submit(2, 3, 4, 5, 6);
  h.reconnect();
  await waitFor('five acknowledged', () => h.tally.acked === 5);
  await h.stop();
  assert.deepEqual(h.requests.map((r) => r.seqs), [[0, 1], [2, 3, 4, 5], [6]]);
  assert.equal(spool.size().frames, 2, 'the failed frames wait in the spool for the backfill lane');
});

test('inline handover: a frame spilled to the spool is counted while its write is under way, so a frame arriving then queues behind it, not ahead', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fl-handover-'));
  const spool = createSpoolBuffer({ dir }, logger);
  await spool.open();
  const bound = { maxFrames: 100, maxBytes: 1 << 20 };
  const wiring: Wiring = { overflow: 'spool', spoolAhead: true };
  const h = harness(({ drop }) => {
    const memory = createMemoryBuffer(bound, { to: 'buffer', buffer: spool }, drop);
    return { memory, lane: { sources: [spool, memory] as FrameBuffer[] } };
  }, () => undefined);
  /** As delivery's submit(): the policy decides from the buffers' sizes, then the lane is woken. */
  const submit = (seq: number) => {
    const it = item(seq);
    const state: FlowState = { outage: false, stopping: false, closing: false, queued: h.memory.size(), queueBound: bound, spooled: spool.size().frames, memoryInFlight: h.memory.inFlight() };
    const decision = decideFrame(it.size, 1 << 20, state, wiring);
    h.memory.accept(it);
    if (decision.kind === 'spool') h.memory.spill('queueFull');
    return decision.kind;
  };
  try {
    // Frame 31 arrived while spooled frames were still unacknowledged: it went to the spool.
    h.memory.accept(item(31));
    h.memory.spill('queueFull');
    // The spool's write of it starts on this turn's setImmediate; the disk has not answered yet.
    await new Promise((resolve) => setImmediate(resolve));
    const counted = spool.size().frames;
    const decided = submit(32);
    // Woken again while waiting, as each new frame's submit() wakes the lane.
    await waitFor('both acknowledged', () => (h.reconnect(), h.tally.acked === 2));
    await h.stop();
    assert.deepEqual(h.requests.flatMap((r) => r.seqs), [31, 32], 'fl-seq order on the topic');
    assert.equal(counted, 1, 'a record being written is still in the spool');
    assert.equal(decided, 'spool', 'frame 32 queues behind the spooled frame 31');
    assert.equal(spool.size().frames, 0);
  } finally {
    await spool.close();
    await rm(dir, { recursive: true, force: true });
  }
});
