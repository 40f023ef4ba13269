// The live hub on its own (no sockets): each client gets only the newest
// frame of each camera, a busy client skips frames (counted) instead of
// queueing them, and camera state follows the time since the last frame.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLiveHub } from '../src/web/live-hub.js';
import { encodeFrameMessage, type LiveClient, type LiveFrame, type ServerMessage } from '../src/web/live-protocol.js';

interface Sent { frame?: { camera: string; seq: number }; json?: ServerMessage; done: () => void }

/** A client whose socket writes only when the test says so (done callbacks held back). */
function slowClient(buffered = () => 0) {
  const sent: Sent[] = [];
  let closed: { code: number; reason: string } | undefined;
  const client: LiveClient = {
    send(data, done) {
      if (typeof data === 'string') sent.push({ json: JSON.parse(data) as ServerMessage, done: () => done() });
      else {
        const header = JSON.parse(data.subarray(4, 4 + data.readUInt32BE(0)).toString()) as { camera: string; seq: number };
        sent.push({ frame: { camera: header.camera, seq: header.seq }, done: () => done() });
      }
    },
    bufferedAmount: buffered,
    close: (code, reason) => void (closed = { code, reason }),
  };
  return {
    client,
    sent,
    frames: () => sent.filter((s) => s.frame).map((s) => `${s.frame!.camera}#${s.frame!.seq}`),
    /** Lets the socket write everything sent so far. */
    flush() {
      for (const s of sent.splice(0)) s.done();
    },
    closed: () => closed,
  };
}

const jpeg = Buffer.from([0xff, 0xd8, 0xff, 0xd9]);
const frame = (camera: string, seq: number, capturedAt = 1000 + seq * 100): LiveFrame => ({ camera, run: 'r', seq, capturedAt, width: 640, height: 480, jpeg });

test('a frame message is the header length, the JSON header, then the JPEG bytes', () => {
  const m = encodeFrameMessage(frame('CAMERA-1', 7));
  const n = m.readUInt32BE(0);
  assert.deepEqual(JSON.parse(m.subarray(4, 4 + n).toString()), { type: 'frame', camera: 'CAMERA-1', seq: 7, capturedAt: 1700, width: 640, height: 480 });
  assert.deepEqual(m.subarray(4 + n), jpeg);
});

test('a client that cannot keep up gets the newest frame only, and the frames it missed are counted', () => {
  const hub = createLiveHub({ maxInFlight: 1 });
  const c = slowClient();
  const session = hub.connect(c.client);
  assert.equal(c.sent[0]!.json!.type, 'snapshot', 'a snapshot first');
  for (let seq = 0; seq < 10; seq++) hub.frame(frame('CAMERA-1', seq));
  // seq 0 went out at once; 1..9 arrived while it was in flight: each replaced the previous.
  assert.deepEqual(c.frames(), ['CAMERA-1#0']);
  c.flush();
  assert.deepEqual(c.frames(), ['CAMERA-1#9'], 'after the socket drained: the newest frame, not the backlog');
  assert.deepEqual(session.counts(), { framesSent: 2, framesSkipped: 8 });
  assert.equal(hub.counts().framesSkipped, 8);
});

test('a fast client gets every frame', () => {
  const hub = createLiveHub({ maxInFlight: 1 });
  const c = slowClient();
  hub.connect(c.client);
  const got: string[] = [];
  for (let seq = 0; seq < 5; seq++) {
    hub.frame(frame('CAMERA-1', seq));
    got.push(...c.frames());
    c.flush();
  }
  assert.deepEqual(got, [0, 1, 2, 3, 4].map((s) => `CAMERA-1#${s}`));
  assert.equal(hub.counts().framesSkipped, 0);
});

test('with many cameras a busy client is served round-robin: the camera waiting longest goes first', () => {
  const hub = createLiveHub({ maxInFlight: 2 });
  const c = slowClient();
  hub.connect(c.client);
  const cams = Array.from({ length: 8 }, (_, i) => `CAMERA-${i + 1}`);
  for (const cam of cams) hub.frame(frame(cam, 0));
  for (const cam of cams) hub.frame(frame(cam, 1));
  assert.deepEqual(c.frames(), ['CAMERA-1#0', 'CAMERA-2#0']);
  const seen: string[] = [];
  for (let i = 0; i < 6 && c.sent.length > 0; i++) {
    c.flush();
    seen.push(...c.frames());
  }
  // Every camera reached the client once, with its newest frame; none twice.
  assert.deepEqual(seen.sort(), ['CAMERA-1#1', 'CAMERA-2#1', ...cams.slice(2).map((cam) => `${cam}#1`)].sort());
  assert.equal(hub.counts().framesSkipped, 6, 'CAMERA-3..8 each lost seq 0 to seq 1');
});

test('no frame is sent while the socket has more than maxBufferedBytes queued; sending resumes when it drains', () => {
  let buffered = 1_000_000;
  const hub = createLiveHub({ maxBufferedBytes: 64 * 1024 });
  const c = slowClient(() => buffered);
  hub.connect(c.client);
  for (let seq = 0; seq < 5; seq++) hub.frame(frame('CAMERA-1', seq));
  assert.deepEqual(c.frames(), []);
  buffered = 0;
  hub.tick(5000);
  assert.deepEqual(c.frames(), ['CAMERA-1#4']);
  assert.equal(hub.counts().framesSkipped, 4);
});

test('a client hopelessly behind is closed (it reconnects) instead of growing its queue', () => {
  const hub = createLiveHub({ maxQueuedBytes: 1024 });
  const c = slowClient(() => 10_000);
  hub.connect(c.client);
  assert.deepEqual(c.closed(), { code: 1013, reason: 'client too slow; reconnect' });
  assert.equal(hub.counts().clients, 0);
  assert.equal(hub.counts().clientsDropped, 1);
  hub.frame(frame('CAMERA-1', 0));
  assert.deepEqual(c.frames(), [], 'nothing more is sent to a closed client');
});

test('a new client and a refresh get a snapshot, the newest pose and frame of every camera', () => {
  const hub = createLiveHub({ bones: [['left_hip', 'left_knee']] });
  for (let seq = 0; seq < 3; seq++) hub.frame(frame('CAMERA-2', seq), 10_000);
  hub.pose({ camera: 'CAMERA-2', seq: 1, capturedAt: 1100, inferredAt: 1300, width: 640, height: 480, persons: [] }, 10_000);
  const c = slowClient();
  const session = hub.connect(c.client);
  const types = c.sent.map((s) => s.json?.type ?? 'frame');
  assert.deepEqual(types, ['snapshot', 'pose', 'frame']);
  const snap = c.sent[0]!.json as Extract<ServerMessage, { type: 'snapshot' }>;
  assert.deepEqual(snap.bones, [['left_hip', 'left_knee']]);
  assert.equal(snap.cameras[0]!.seq, 2);
  assert.deepEqual(c.frames(), ['CAMERA-2#2']);
  c.flush();
  session.refresh();
  assert.deepEqual(c.sent.map((s) => s.json?.type ?? 'frame'), ['snapshot', 'pose', 'frame'], 'the same frame again after a refresh');
});

test('camera state: live, stale after staleAfterMs without a frame, offline after offlineAfterMs', () => {
  const hub = createLiveHub({ staleAfterMs: 3000, offlineAfterMs: 15_000, rateWindowMs: 5000 });
  for (let i = 0; i < 50; i++) hub.frame(frame('CAMERA-1', i), 100_000 + i * 100);
  for (let i = 0; i < 10; i++) hub.pose({ camera: 'CAMERA-1', seq: i * 5, capturedAt: 0, inferredAt: 0, width: 640, height: 480, persons: [], skippedSince: 4 }, 100_400 + i * 500);
  const at = (ms: number) => hub.status(104_900 + ms)[0]!;
  assert.equal(at(0).state, 'live');
  assert.equal(at(0).captureFps, 10);
  assert.equal(at(0).inferredFps, 2);
  assert.equal(at(0).skippedFps, 8);
  assert.equal(at(0).skipped, 40);
  // One result every 3 s (a busy host): a 5 s window holds one, which reads as a slow rate, not 0.
  const slow = createLiveHub({ rateWindowMs: 5000 });
  for (let i = 0; i < 4; i++) slow.pose({ camera: 'CAMERA-2', seq: i, capturedAt: 0, inferredAt: 0, width: 640, height: 480, persons: [] }, 200_000 + i * 3000);
  assert.equal(slow.status(208_500)[0]!.inferredFps, 0.2, 'one result in the window');
  assert.equal(slow.status(209_500)[0]!.inferredFps, 0.3, 'two results 3 s apart');
  assert.equal(at(2000).state, 'live');
  assert.equal(at(3500).state, 'stale');
  assert.equal(at(16_000).state, 'offline');
});

test('alerts: newest first, bounded, and an alert sent again with the same key is updated, not repeated', () => {
  const hub = createLiveHub({ maxAlerts: 3 });
  const c = slowClient();
  hub.connect(c.client);
  for (let i = 0; i < 5; i++) hub.alert({ key: `k${i}`, camera: 'CAMERA-1', kind: 'zone', score: 0.9, startedAt: i });
  hub.alert({ key: 'k4', camera: 'CAMERA-1', kind: 'zone', score: 0.9, startedAt: 4, endedAt: 9 });
  const late = slowClient();
  hub.connect(late.client);
  const snap = late.sent[0]!.json as Extract<ServerMessage, { type: 'snapshot' }>;
  assert.deepEqual(snap.alerts.map((a) => a.key), ['k4', 'k3', 'k2']);
  assert.equal(snap.alerts[0]!.endedAt, 9);
  assert.equal(c.sent.filter((s) => s.json?.type === 'alert').length, 6, 'live clients see each alert and the update');
});

test('cameras beyond maxCameras are not tracked, and counted', () => {
  const hub = createLiveHub({ maxCameras: 2 });
  for (const cam of ['A', 'B', 'C']) hub.frame(frame(cam, 0));
  assert.deepEqual(hub.status().map((s) => s.camera), ['A', 'B']);
  assert.equal(hub.counts().camerasIgnored, 1);
});
