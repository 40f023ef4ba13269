// Topic names shared by agent, cloud and the broker runner. The one list is
// shared/topics.json: deploy/kafka/provision.mjs reads it on a broker host
// that has the source but no build (deploy/kafka/topics.json links here; Terraform ships
// its content), and scripts/pack.mjs puts it into the Pi's release.
import { readFileSync } from 'node:fs';

/** A topic set; `agents` (the agents' compacted status topic) is optional so tests can make sets without it. */
export type TopicSet = Record<'frames' | 'backfill' | 'inferences' | 'alerts' | 'dlq', string> & { agents?: string };

// From shared/dist/src/ (compiled) two levels up is the package root.
export const TOPICS: Readonly<Required<TopicSet>> = Object.freeze(JSON.parse(readFileSync(new URL('../../topics.json', import.meta.url), 'utf8')) as Required<TopicSet>);
