// The pure parts of two protections: the bound on distinct cameras, and
// the operator message for each kind of ACL refusal (the bin-level tests in
// test/security exercise them against the real broker).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { denialFromLogEntry, authorizationDenial } from '@frameline/shared';
import { createCameraAdmission } from '../src/ingest/cameras.js';
import { describeRefusal } from '../src/refusal.js';
import { loadCloudConfig } from '../src/config.js';

test('camera admission: known cameras always pass, new ones only while below the bound', () => {
  const a = createCameraAdmission(2);
  assert.equal(a.admit('CAMERA-1'), true);
  assert.equal(a.admit('CAMERA-2'), true);
  assert.equal(a.admit('CAMERA-3'), false);
  assert.equal(a.admit('CAMERA-1'), true);
  assert.equal(a.count(), 2);
});

test('ACL refusals: recognised in kafkajs log entries and error chains, each with the ACL that would grant it', () => {
  const config = loadCloudConfig({ env: {}, overrides: { kafka: { security: 'plaintext', groupId: 'g1' } } });
  const group = denialFromLogEntry('Response GroupCoordinator(key: 10, version: 2)', { error: 'Not authorized to access group: Group authorization failed' });
  assert.deepEqual(group, { resource: 'group', api: 'GroupCoordinator', detail: 'Not authorized to access group: Group authorization failed' });
  assert.match(describeRefusal(group!, config), /--operation Read --group g1/);
  const read = denialFromLogEntry('Response Fetch(key: 1, version: 11)', { error: 'Not authorized to access topics: [Topic authorization failed]' })!;
  assert.match(describeRefusal(read, config), /reading a topic.*Read and Describe on video\.frames, video\.frames\.backfill/);
  const write = denialFromLogEntry('Response Produce(key: 0, version: 7)', { error: 'Not authorized to access topics: [Topic authorization failed]' })!;
  assert.match(describeRefusal(write, config), /writing a topic.*--operation Write --operation Describe --topic video\.inferences/);
  assert.equal(denialFromLogEntry('Response Fetch(key: 1, version: 11)', { error: 'The coordinator is loading' }), undefined, 'retriable errors are not refusals');
  const wrapped = { name: 'KafkaJSNumberOfRetriesExceeded', cause: { type: 'CLUSTER_AUTHORIZATION_FAILED', message: 'Cluster authorization failed' } };
  assert.equal(authorizationDenial(wrapped)?.resource, 'cluster');
  const aggregated = { name: 'KafkaJSAggregateError', message: 'Topic creation errors', errors: [{ type: 'TOPIC_AUTHORIZATION_FAILED', message: 'Not authorized' }] };
  assert.equal(authorizationDenial(aggregated)?.resource, 'topic');
  assert.equal(authorizationDenial(new Error('ECONNREFUSED')), undefined);
});
