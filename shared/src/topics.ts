/** Topic names shared by agent, cloud and the broker runner (deploy/kafka/provision.mjs). */
export const TOPICS = {
  frames: 'video.frames',
  backfill: 'video.frames.backfill',
  inferences: 'video.inferences',
  alerts: 'video.alerts',
  dlq: 'video.frames.dlq',
} as const;

export type TopicSet = { [K in keyof typeof TOPICS]: string };
