// Topic names shared by agent, cloud and the broker runner. The one list is
// shared/topics.json: deploy/kafka/provision.mjs reads it on a broker host
// that has the source but no build.
import { readFileSync } from 'node:fs';

export type TopicSet = Record<'frames' | 'backfill' | 'inferences' | 'alerts' | 'dlq', string>;

// From shared/dist/src/ (compiled) two levels up is the package root.
export const TOPICS: Readonly<TopicSet> = Object.freeze(JSON.parse(readFileSync(new URL('../../topics.json', import.meta.url), 'utf8')) as TopicSet);
