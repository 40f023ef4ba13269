// ACL refusals that retrying cannot fix stop the real `frameline-cloud run`
// with exit status 77 (EX_NOPERM, RestartPreventExitStatus in the unit) and
// a line naming what was refused and the ACL to add, at start (a group
// outside the granted prefix) and later (results topic not writable).
// Cost: about 20-40 s.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { EXIT_NOPERM, createKafka, createLogger, encodeFrame, type TopicSet } from '@frameline/shared';
import { sharedBroker, type TestBroker } from '@frameline/shared/testing';
import { solidJpeg } from '@frameline/shared/testing/jpegs';
import { cloudConfigFile, startCloud } from './cloud-process.js';

let broker: TestBroker;
let topics: TopicSet;

before(async () => {
  broker = await sharedBroker();
  topics = await broker.topics('acl-refusal', 1);
});

test('a consumer group outside the granted prefix stops the service: exit 77, the group and the ACL named, no zombie', async () => {
  const group = `outside-prefix-${randomUUID().slice(0, 6)}`;
  const cloud = startCloud(['run', '--config', cloudConfigFile(broker, topics, { kafka: { groupId: group } })]);
  const timer = setTimeout(() => void cloud.stop(), 60_000);
  const code = await cloud.exited;
  clearTimeout(timer);
  const refusal = cloud.lines.find((l) => /refused consumer group/.test(l));
  console.log(`exit ${code}: ${refusal?.slice(0, 400)}`);
  assert.equal(code, EXIT_NOPERM, cloud.lines.slice(-20).join('\n'));
  assert.ok(refusal, cloud.lines.join('\n'));
  assert.match(refusal, new RegExp(`"${group}"`));
  assert.match(refusal, /Group authorization failed/);
  assert.match(refusal, new RegExp(`--allow-principal User:cloud --operation Read --group ${group}`));
  assert.match(refusal, /prefix "frameline-"/);
  assert.ok(!cloud.lines.some((l) => /INFO .*consuming/.test(l)), 'never claims to be consuming');
  assert.ok(!cloud.lines.some((l) => /^\s+at /.test(l)), 'no stack trace');
});

test('a results topic the ACLs do not let it write stops the service when it first publishes: exit 77, topic and ACL named', async () => {
  // The cloud user may only read the frames topic: use it as the results topic.
  const cloud = startCloud(['run', '--config', cloudConfigFile(broker, topics, { topics: { inferences: topics.frames } })]);
  await cloud.waitForLine(/consuming/);
  const producer = createKafka(broker.connection('agent', 'external'), createLogger({ level: 'error' })).producer();
  await producer.connect();
  const jpeg = await solidJpeg(64, 48);
  await producer.send({ topic: topics.frames, messages: [{ ...encodeFrame({ camera: 'CAMERA-1', run: randomUUID(), seq: 0, capturedAt: Date.now(), width: 64, height: 48, jpeg }), partition: 0 }] });
  await producer.disconnect();
  const timer = setTimeout(() => void cloud.stop(), 60_000);
  const code = await cloud.exited;
  clearTimeout(timer);
  const refusal = cloud.lines.find((l) => /refused user "cloud" writing a topic/.test(l));
  console.log(`exit ${code}: ${refusal?.slice(0, 400)}`);
  assert.equal(code, EXIT_NOPERM, cloud.lines.slice(-20).join('\n'));
  assert.ok(refusal, cloud.lines.join('\n'));
  assert.match(refusal, new RegExp(`--operation Write --operation Describe --topic ${topics.frames.replace(/\./g, '\\.')}`));
});
