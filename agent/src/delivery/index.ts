// Delivery: hands frames to the broker, in order per camera. Frames wait in
// buffers (buffer.ts: memory, spool-buffer.ts: disk); one send loop per lane
// drains them (send-loop.ts); one connection loop reconnects (connection.ts);
// pure functions decide (policy.ts). The modes are only different wirings:
//
// live               acks=1; memory only. When the broker falls behind or is
//                    away, the oldest queued frames are dropped and counted.
// reliable inline    acks=all, idempotent producer; memory overflows into the
//                    spool, and the frames lane drains the spool before memory,
//                    so the frames topic stays strictly ordered.
// reliable separate  as inline, but the spool drains on its own lane to the
//                    backfill topic, paced, while new frames go to the frames
//                    topic at once.
import { createPacer, encodeFrame, recordSize, within, type Frame } from '@frameline/shared';
import { createMemoryBuffer, type FrameBuffer, type MemoryBuffer } from './buffer.js';
import { createConnection } from './connection.js';
import { createLink } from './link.js';
import { decideFrame, deliveryPolicy, shouldSpill, type FlowState, type Wiring } from './policy.js';
import { runLane, type Lane, type LaneRun } from './send-loop.js';
import { createSignal } from './signal.js';
import { createSpoolBuffer, type SpoolBuffer } from './spool-buffer.js';
import { createTally } from './tally.js';
import type { BackfillMode, Delivery, DeliveryDeps, DeliveryOptions, DeliveryPolicy, DeliveryStatus, DropReason } from './types.js';

export type { BrokerState, KafkaFactory } from './link.js';
export type { FsyncPolicy, SpoolOptions, SpoolStats } from './spool.js';
export { openSpool } from './spool.js';
export type * from './types.js';

interface Wired {
  memory: MemoryBuffer;
  spool?: SpoolBuffer;
  lanes: Lane[];
  /** acks=all and an idempotent producer with one request in flight. */
  acksAll: boolean;
}

/** The one place the modes differ: which buffers exist and which lanes read them. */
function wire(options: DeliveryOptions, deps: DeliveryDeps, drop: (reason: DropReason, n: number) => void): Wired {
  const frames = (sources: FrameBuffer[]): Lane => ({ name: 'frames', topic: options.topics.frames, sources, flushOnStop: true });
  if (options.mode === 'live') {
    // Memory only; what it cannot keep or send is dropped, oldest first.
    const memory = createMemoryBuffer(options.queue ?? { maxFrames: 16, maxBytes: 4 << 20 }, { to: 'drop' }, drop);
    return { memory, lanes: [frames([memory])], acksAll: false };
  }
  if (!options.spool) throw new Error('delivery mode "reliable" needs spool.dir (the spool directory under the state directory)');
  // Memory overflows into the spool: frames it cannot keep or send are written there.
  const spool = createSpoolBuffer(options.spool, deps.logger);
  const memory = createMemoryBuffer(options.queue ?? { maxFrames: 100, maxBytes: 16 << 20 }, { to: 'buffer', buffer: spool }, drop);
  // Inline: the frames lane drains the spool before memory. Separate: a paced lane of its own to the backfill topic.
  if ((options.backfill ?? 'inline') === 'inline') return { memory, spool, lanes: [frames([spool, memory])], acksAll: true };
  const backfill: Lane = { name: 'backfill', topic: options.topics.backfill, sources: [spool], pacer: createPacer(options.drainRate ?? {}), flushOnStop: false };
  return { memory, spool, lanes: [frames([memory]), backfill], acksAll: true };
}

export function createDelivery(options: DeliveryOptions, deps: DeliveryDeps): Delivery {
  const backfill: BackfillMode = options.backfill ?? 'inline';
  const maxBatchBytes = options.maxBatchBytes ?? 1 << 20;
  const stopTimeoutMs = options.stopTimeoutMs ?? 5000;
  const log = deps.logger.child('delivery', { mode: options.mode });
  const tally = createTally();
  const drop = (reason: DropReason, n: number) => (tally.dropped[reason] += n);
  const { memory, spool, lanes, acksAll } = wire(options, deps, drop);
  const wiring: Wiring = { overflow: spool ? 'spool' : 'drop-oldest', spoolAhead: spool !== undefined && lanes[0]!.sources[0] === spool };

  const link = createLink(
    {
      kafka: options.kafka,
      reliable: acksAll,
      topics: lanes.map((l) => l.topic),
      requestTimeoutMs: options.sendTimeoutMs ?? 5000,
      connectionTimeoutMs: options.connectionTimeoutMs ?? options.kafka.connectionTimeoutMs ?? 3000,
      retries: options.sendRetries ?? 2,
    },
    deps.logger,
    deps.kafkaFactory,
  );

  const changed = createSignal();
  const stopSignal = createSignal();
  const lifecycle = { started: false, stopping: false, closing: false };
  let lastPolicy: DeliveryPolicy | undefined;
  let runs: LaneRun[] = [];
  const loops: Promise<void>[] = [];

  const flowState = (): FlowState => ({
    outage: connection.outage,
    stopping: lifecycle.stopping,
    closing: lifecycle.closing,
    queued: memory.size(),
    queueBound: memory.bound,
    spooled: spool?.size().frames ?? 0,
    memoryInFlight: memory.inFlight(),
  });

  function notePolicy(): void {
    const p = deliveryPolicy(flowState(), wiring);
    if (p === lastPolicy) return;
    lastPolicy = p;
    const fields = { broker: link.state, queued: memory.size().frames, spooled: spool?.size().frames ?? 0 };
    if (p === 'dropping') log.warn('broker unavailable: dropping the oldest queued frames beyond the queue bound', fields);
    else if (p === 'spooling') log.warn('writing new frames to the spool until the broker has caught up', fields);
    else log.info('sending frames directly', fields);
  }

  /** Re-applies the policy after anything changed: memory to the spool when it cannot be used, log a new policy, wake the loops. */
  function settle(): void {
    if (shouldSpill(flowState(), wiring)) memory.spill('queueFull');
    notePolicy();
    changed.notify();
  }

  const connection = createConnection({
    link,
    kafka: options.kafka,
    reconnect: options.reconnect ?? { initialMs: 250, maxMs: 5000 },
    log,
    tally,
    changed,
    stopSignal,
    closing: () => lifecycle.closing,
    settle,
    describe: () => ({ policy: deliveryPolicy(flowState(), wiring), spooled: spool?.size().frames ?? 0, queued: memory.size().frames }),
  });

  function submit(frame: Frame): void {
    const msg = encodeFrame(frame);
    const size = recordSize(msg);
    const decision = decideFrame(size, maxBatchBytes, flowState(), wiring);
    switch (decision.kind) {
      case 'drop':
        if (decision.reason === 'tooLarge') {
          tally.lastError = `a frame of ${size} bytes exceeds maxBatchBytes ${maxBatchBytes}; raise it (and the topic's max.message.bytes) or lower the resolution`;
        }
        drop(decision.reason, 1);
        return;
      case 'queue':
        memory.accept({ msg, size, submittedAt: Date.now() });
        break;
      case 'queue-drop-oldest':
        memory.accept({ msg, size, submittedAt: Date.now() });
        memory.trimOldest();
        break;
      case 'spool':
        memory.accept({ msg, size, submittedAt: Date.now() });
        memory.spill('queueFull');
        break;
    }
    notePolicy();
    changed.notify();
  }

  async function start(): Promise<void> {
    if (lifecycle.started) throw new Error('delivery already started');
    lifecycle.started = true;
    await spool?.open();
    const firstAttempt = new Promise<void>((resolve) => {
      const check = (): void => {
        if (link.state === 'connected' || tally.lastError !== null || lifecycle.closing) return resolve();
        void changed.wait(changed.generation).then(check);
      };
      check();
    });
    const limits = { maxBatchFrames: Math.max(1, options.maxBatchFrames ?? 100), maxBatchBytes, partitioning: options.partitioning ?? 'key' };
    const loopDeps = { link, connection, kafka: options.kafka, limits, tally, log, changed, stopSignal, settle, onSent: options.onSent };
    runs = lanes.map((lane) => runLane(lane, { ...loopDeps, stopping: () => lifecycle.stopping, closing: () => lifecycle.closing }));
    loops.push(connection.run(), ...runs.map((r) => r.done));
    // With a spool, ready once it is open; without, after the first connection attempt.
    if (!spool) await firstAttempt;
    notePolicy();
  }

  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => (stopped ??= doStop());

  async function doStop(): Promise<void> {
    const deadline = Date.now() + stopTimeoutMs;
    lifecycle.stopping = true;
    changed.notify();
    // Flush memory while the broker takes it.
    while (Date.now() < deadline && link.state === 'connected' && (memory.size().frames > 0 || memory.inFlight())) {
      await within(changed.wait(changed.generation), deadline - Date.now());
    }
    lifecycle.closing = true;
    settle();
    stopSignal.notify();
    await within(Promise.allSettled(loops), deadline - Date.now());
    // Requests still unanswered: their frames count as unsent (resent, perhaps twice, after restart).
    for (const run of runs) run.abandon();
    memory.evacuate();
    try {
      await spool?.close();
    } catch (e) {
      tally.lastError = `closing the spool failed: ${(e as Error).message}`;
      log.error(tally.lastError);
    }
    await within(link.close(), 2000);
    log.info('delivery stopped', { acked: tally.acked, spooled: spool?.size().frames ?? 0 });
  }

  function status(): DeliveryStatus {
    const s = spool?.stats();
    return {
      mode: options.mode,
      backfill,
      broker: link.state,
      policy: deliveryPolicy(flowState(), wiring),
      sent: tally.sent,
      acked: tally.acked,
      dropped: { ...tally.dropped },
      queued: memory.size(),
      spooled: { frames: s?.frames ?? 0, bytes: s?.bytes ?? 0, segments: s?.segments ?? 0, oldestAt: s?.oldestAt ?? null },
      evicted: s?.evictedFrames ?? 0,
      spoolDiskFull: s?.diskFull ?? false,
      tornRecordsSkipped: s?.tornRecordsSkipped ?? 0,
      backfillSent: tally.backfillSent,
      lastError: tally.lastError,
    };
  }

  return { start, submit, stop, status };
}
