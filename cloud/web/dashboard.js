// frameline live view: one WebSocket (/live) carries every camera's newest
// frame (binary: u32 header length, JSON header, JPEG) and JSON messages
// (snapshot, status, pose, alert, fleet). Skeletons are drawn here, on a canvas over
// each frame, from the keypoints of the camera's newest result.
const MIN_VISIBILITY = 0.5;
/** A pose this much older than the frame under it is drawn faded: the person has moved on. */
const POSE_FRESH_MS = 1500;

const grid = document.getElementById('grid');
const tileTemplate = document.getElementById('tile-template');
const alertList = document.getElementById('alerts');
const connection = document.getElementById('connection');
const summary = document.getElementById('summary');
const dialog = document.getElementById('alert-view');

/** What the page did, for people in devtools and for the browser test. */
const counters = { connects: 0, framesShown: {}, skeletonsDrawn: 0, alertsShown: 0, snapshots: 0, fleetUpdates: 0 };
window.frameline = counters;

const tiles = new Map();
const alerts = new Map();
let bones = [];
let clockOffsetMs = 0; // server clock minus ours, from the last status message
let socket;
let retryMs = 500;

function tileFor(camera) {
  let tile = tiles.get(camera);
  if (tile) return tile;
  const el = tileTemplate.content.firstElementChild.cloneNode(true);
  el.dataset.camera = camera;
  el.id = tileId(camera);
  el.querySelector('.camera').textContent = camera;
  const field = (name) => el.querySelector(`.${name}`);
  tile = {
    el, img: field('frame'), canvas: field('overlay'), stage: field('stage'), state: field('state'),
    capture: field('capture'), inferred: field('inferred'), skipped: field('skipped'), age: field('age'), persons: field('persons'),
    frame: undefined, pose: undefined, shown: undefined, loading: undefined,
  };
  tile.img.alt = `newest frame of ${camera}`;
  tiles.set(camera, tile);
  const sorted = [...tiles.keys()].sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  const next = tiles.get(sorted[sorted.indexOf(camera) + 1]);
  grid.insertBefore(el, next ? next.el : null);
  document.getElementById('no-cameras').hidden = true;
  return tile;
}

/** The tile's element id: the fleet view links to it. */
const tileId = (camera) => `tile-${camera.replace(/[^A-Za-z0-9_-]/g, '_')}`;

function showFrame(buffer) {
  const view = new DataView(buffer);
  const headerLength = view.getUint32(0);
  const header = JSON.parse(new TextDecoder().decode(new Uint8Array(buffer, 4, headerLength)));
  const tile = tileFor(header.camera);
  const url = URL.createObjectURL(new Blob([new Uint8Array(buffer, 4 + headerLength)], { type: 'image/jpeg' }));
  // A frame still loading when a newer one arrives is dropped, and so is its blob.
  if (tile.loading) URL.revokeObjectURL(tile.loading);
  tile.loading = url;
  tile.img.onload = () => {
    if (tile.shown) URL.revokeObjectURL(tile.shown);
    tile.shown = url;
    tile.loading = undefined;
    tile.frame = header;
    tile.img.dataset.seq = String(header.seq);
    counters.framesShown[header.camera] = (counters.framesShown[header.camera] ?? 0) + 1;
    if (tile.stage.dataset.size !== `${header.width}x${header.height}`) {
      tile.stage.dataset.size = `${header.width}x${header.height}`;
      tile.stage.style.aspectRatio = `${header.width} / ${header.height}`;
    }
    tile.age.textContent = seconds(Date.now() + clockOffsetMs - header.capturedAt);
    drawOverlay(tile);
  };
  tile.img.src = url;
}

function drawOverlay(tile) {
  const { canvas, pose, frame } = tile;
  const width = frame?.width ?? pose?.width ?? 0;
  const height = frame?.height ?? pose?.height ?? 0;
  if (!width || !height) return;
  if (canvas.width !== width || canvas.height !== height) Object.assign(canvas, { width, height });
  const g = canvas.getContext('2d');
  g.clearRect(0, 0, width, height);
  if (!pose) return;
  const stale = frame ? frame.capturedAt - pose.capturedAt > POSE_FRESH_MS : false;
  g.globalAlpha = stale ? 0.35 : 1;
  const scale = width / pose.width; // results are in the inferred frame's pixels
  // 2 CSS pixels wide whatever the tile's size.
  const line = Math.max(1, (2 * width) / (canvas.clientWidth || width));
  g.lineWidth = line;
  for (const person of pose.persons) {
    const at = new Map(person.keypoints.filter((k) => k.visibility >= MIN_VISIBILITY).map((k) => [k.name, k]));
    const [bx, by, bw, bh] = person.box;
    g.strokeStyle = '#00ff66';
    g.strokeRect(bx * scale, by * scale, bw * scale, bh * scale);
    let drawn = 0;
    for (const [a, b] of bones) {
      const p = at.get(a);
      const q = at.get(b);
      if (!p || !q) continue;
      g.strokeStyle = b.startsWith('left_') ? '#ff8c00' : b.startsWith('right_') ? '#00bfff' : '#ffffff';
      g.beginPath();
      g.moveTo(p.x * scale, p.y * scale);
      g.lineTo(q.x * scale, q.y * scale);
      g.stroke();
      drawn++;
    }
    for (const k of at.values()) {
      g.fillStyle = k.name.startsWith('left_') ? '#ff8c00' : k.name.startsWith('right_') ? '#00bfff' : '#ffffff';
      g.fillRect(k.x * scale - line, k.y * scale - line, line * 2, line * 2);
    }
    if (drawn > 0) counters.skeletonsDrawn++;
  }
  g.globalAlpha = 1;
}

const seconds = (ms) => (ms < 0 ? '–' : ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`);
const fps = (v) => `${v.toFixed(1)} fps`;

function showStatus(now, cameras) {
  clockOffsetMs = now - Date.now();
  let live = 0;
  for (const c of cameras) {
    const tile = tileFor(c.camera);
    tile.el.dataset.state = c.state;
    tile.state.textContent = c.state;
    tile.capture.textContent = fps(c.captureFps);
    tile.inferred.textContent = fps(c.inferredFps);
    tile.inferred.title = c.inferredFps > 0 ? `one result every ${(1000 / c.inferredFps).toFixed(0)} ms` : 'no results';
    tile.skipped.textContent = `${c.skippedFps.toFixed(1)}/s`;
    tile.skipped.title = `${c.skipped} frames skipped by the scheduler since the service started`;
    tile.age.textContent = c.seq >= 0 ? seconds(now - c.capturedAt) : '–';
    tile.persons.textContent = String(c.persons);
    if (c.state === 'live') live++;
  }
  summary.textContent = `${cameras.length} cameras, ${live} live`;
}

const bytes = (n) => (n < 1024 ? `${n} B` : n < 1 << 20 ? `${(n / 1024).toFixed(0)} KiB` : `${(n / (1 << 20)).toFixed(1)} MiB`);

/** One row per agent, in the order the server sent (worst first). */
function showFleet(agents) {
  counters.fleetUpdates++;
  const tbody = document.getElementById('fleet-rows');
  document.getElementById('fleet-table').hidden = agents.length === 0;
  document.getElementById('no-agents').hidden = agents.length > 0;
  const healthy = agents.filter((a) => a.health === 'healthy').length;
  document.getElementById('fleet-summary').textContent = agents.length ? `${agents.length} agents, ${healthy} healthy` : '';
  tbody.replaceChildren(...agents.map((a) => {
    const tr = document.createElement('tr');
    tr.dataset.camera = a.camera;
    tr.dataset.health = a.health;
    const link = Object.assign(document.createElement('a'), { href: `#${tileId(a.camera)}`, textContent: a.camera, title: `${a.camera}'s live view` });
    const badge = Object.assign(document.createElement('span'), { className: 'health', textContent: a.health });
    const spool = a.spoolOldestAgeMs === null ? 'empty' : `${bytes(a.spoolBytes)}, oldest ${seconds(a.spoolOldestAgeMs)}`;
    const soc = [a.socTempC !== undefined ? `${a.socTempC.toFixed(1)} °C` : '', a.throttledNow?.length ? a.throttledNow.join(', ') : ''].filter(Boolean).join(' · ') || '–';
    const cells = [link, badge, [...a.reasons, a.lastError ?? ''].filter(Boolean).join('; ') || '–', a.broker, a.cameraState, fps(a.captureFps), spool, soc, `${seconds(a.lastSeenMs)} ago`, a.version];
    for (const [i, c] of cells.entries()) {
      const td = document.createElement('td');
      if (i === 2) td.className = 'why';
      if (typeof c === 'string') td.textContent = c;
      else td.append(c);
      tr.append(td);
    }
    return tr;
  }));
}

function alertText(a) {
  const when = new Date(a.startedAt).toLocaleTimeString();
  const track = a.track !== undefined ? ` · track ${a.track}` : '';
  const until = a.endedAt ? `, ${seconds(a.endedAt - a.startedAt)}` : ', ongoing';
  return { title: a.kind, meta: `${a.camera}${track} · ${when}${until} · score ${Number(a.score).toFixed(2)}` };
}

function showAlert(a) {
  let li = alerts.get(a.key);
  if (!li) {
    li = document.createElement('li');
    li.tabIndex = 0;
    li.append(document.createElement('img'), document.createElement('div'));
    li.addEventListener('click', () => openAlert(li.alert));
    li.addEventListener('keydown', (e) => e.key === 'Enter' && openAlert(li.alert));
    alerts.set(a.key, li);
    alertList.prepend(li);
    counters.alertsShown++;
    while (alertList.children.length > 50) {
      alerts.delete(alertList.lastElementChild.alert.key);
      alertList.lastElementChild.remove();
    }
  }
  li.alert = a;
  li.dataset.key = a.key;
  li.classList.toggle('ended', Boolean(a.endedAt));
  const [img, body] = li.children;
  if (a.snapshot) img.src = `data:image/jpeg;base64,${a.snapshot}`;
  img.hidden = !a.snapshot; // fleet alerts carry no frame
  img.alt = `${a.kind} on ${a.camera}`;
  const { title, meta } = alertText(a);
  body.replaceChildren(Object.assign(document.createElement('div'), { className: 'kind', textContent: title }), Object.assign(document.createElement('div'), { className: 'meta', textContent: meta }));
  document.getElementById('no-alerts').hidden = true;
}

function openAlert(a) {
  const img = document.getElementById('alert-view-image');
  img.hidden = !a.snapshot;
  if (a.snapshot) img.src = `data:image/jpeg;base64,${a.snapshot}`;
  const { title, meta } = alertText(a);
  document.getElementById('alert-view-text').textContent = `${title.toUpperCase()} · ${meta}${a.seqs?.length ? ` · frames ${a.seqs[0]}–${a.seqs.at(-1)}` : ''}`;
  dialog.showModal();
}
document.getElementById('alert-view-close').addEventListener('click', () => dialog.close());

function onMessage(event) {
  if (event.data instanceof ArrayBuffer) return showFrame(event.data);
  const message = JSON.parse(event.data);
  switch (message.type) {
    case 'snapshot':
      counters.snapshots++;
      bones = message.bones;
      showStatus(message.now, message.cameras);
      for (const a of [...message.alerts].reverse()) showAlert(a);
      showFleet(message.agents ?? []);
      break;
    case 'fleet':
      showFleet(message.agents);
      break;
    case 'status':
      showStatus(message.now, message.cameras);
      break;
    case 'pose': {
      const tile = tileFor(message.pose.camera);
      tile.pose = message.pose;
      tile.persons.textContent = String(message.pose.persons.length);
      drawOverlay(tile);
      break;
    }
    case 'alert':
      showAlert(message.alert);
      break;
  }
}

function setConnection(state, text) {
  connection.dataset.state = state;
  connection.textContent = text;
}

function connect() {
  const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/live`);
  socket = ws;
  ws.binaryType = 'arraybuffer';
  ws.onopen = () => {
    retryMs = 500;
    counters.connects++;
    setConnection('open', 'live');
  };
  ws.onmessage = onMessage;
  ws.onclose = () => {
    if (socket !== ws) return;
    setConnection('closed', `reconnecting in ${seconds(retryMs)}`);
    setTimeout(connect, retryMs);
    retryMs = Math.min(retryMs * 2, 5000);
  };
}

// A hidden tab's timers and frames are throttled: ask for a fresh snapshot
// when it is looked at again rather than trusting what it holds.
document.addEventListener('visibilitychange', () => {
  if (document.visibilityState !== 'visible') return;
  if (socket?.readyState === WebSocket.OPEN) socket.send('{"type":"snapshot"}');
});

connect();
