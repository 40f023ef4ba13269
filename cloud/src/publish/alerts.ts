// The alert record on video.alerts (documented in ALERTS.md), its idempotent
// key, the skeleton snapshot, and the publisher that never sends a key twice.
import { createHash } from 'node:crypto';
import type { Producer } from 'kafkajs';
import client from 'prom-client';
import sharp from 'sharp';
import type { Logger } from '@frameline/shared';
import { drawPoses, type Person } from '../inference/index.js';

export const ALERT_SCHEMA = 1;

/** What a detector reports when it sees an event begin (analysis/detector.ts): part of every alert. */
export interface Detection {
  /** `fall`, `fight`, `zone` or the temporal model's configured kind. */
  kind: string;
  /** Zone name, or empty. Part of the event's identity. */
  label: string;
  /** Ids of the tracks involved, sorted. */
  tracks: string[];
  /** 0..1 */
  score: number;
  /** The first frame of the evidence: must follow from the frames alone, so replaying them gives the same value. */
  startSeq: number;
  startedAt: number;
}

/** One event on video.alerts: the detection that opened it, and: */
export interface AlertRecord extends Detection {
  schema: typeof ALERT_SCHEMA;
  /** alertKey(...): the same event gives the same key on every instance and after every restart. */
  key: string;
  camera: string;
  run: string;
  /** The frame that raised the alert. */
  endSeq: number;
  endedAt: number;
  /** Inferred frames of the involved tracks from startSeq to endSeq (at most MAX_SEQS, the newest kept). */
  seqs: number[];
  raisedAt: number;
  publishedAt?: number;
  snapshot?: { contentType: 'image/jpeg'; width: number; height: number; base64: string };
}

export const MAX_SEQS = 200;

/** Hex SHA-256 (first 32 digits) of the event's identity: camera, run, kind, label, tracks, start seq. */
export function alertKey(a: Pick<AlertRecord, 'camera' | 'run' | 'kind' | 'label' | 'tracks' | 'startSeq'>): string {
  return createHash('sha256').update(JSON.stringify([a.camera, a.run, a.kind, a.label, a.tracks, a.startSeq])).digest('hex').slice(0, 32);
}

/** The frame scaled to `width` px with the persons' skeletons drawn, as a small JPEG. */
export async function renderSnapshot(jpeg: Buffer, persons: Person[], width: number, quality: number): Promise<NonNullable<AlertRecord['snapshot']>> {
  const { data, info } = await sharp(jpeg).resize({ width, withoutEnlargement: true }).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const meta = await sharp(jpeg).metadata();
  const f = info.width / (meta.width ?? info.width);
  const scaled = persons.map((p) => ({
    ...p,
    box: p.box.map((v) => v * f) as Person['box'],
    keypoints: p.keypoints.map((k) => ({ ...k, x: k.x * f, y: k.y * f })),
  }));
  const out = await drawPoses({ width: info.width, height: info.height, rgb: data }, scaled, { quality });
  return { contentType: 'image/jpeg', width: info.width, height: info.height, base64: out.toString('base64') };
}

export interface AlertPublisher {
  /** Keys already on the topic (read back at start): never published again. */
  remember(keys: Iterable<string>): void;
  /** Sends the alerts whose keys are new, acks=all, retrying a few times; throws when the broker keeps refusing. */
  publish(alerts: AlertRecord[]): Promise<AlertRecord[]>;
}

export interface AlertPublisherOptions {
  producer: Producer;
  topic: string;
  logger: Logger;
  registry: client.Registry;
  /** Most keys remembered; the oldest are forgotten first (counted). */
  maxKeys: number;
}

const ATTEMPTS = 5;

export function createAlertPublisher(o: AlertPublisherOptions): AlertPublisher {
  const log = o.logger.child('alerts');
  const sent = new client.Counter({ name: 'frameline_alerts_total', help: 'Alerts published, by kind', labelNames: ['kind'] as const, registers: [o.registry] });
  const deduplicated = new client.Counter({ name: 'frameline_alerts_deduplicated_total', help: 'Alerts not published because their key was already on the topic', registers: [o.registry] });
  const forgotten = new client.Counter({ name: 'frameline_alert_keys_forgotten_total', help: 'Alert keys dropped from the dedupe memory (maxKeys reached)', registers: [o.registry] });
  const keys = new Set<string>();
  const remember = (key: string) => {
    keys.delete(key);
    keys.add(key);
    if (keys.size > o.maxKeys) {
      keys.delete(keys.values().next().value!);
      forgotten.inc();
    }
  };

  return {
    remember(list) {
      for (const k of list) remember(k);
    },
    async publish(alerts) {
      const fresh = alerts.filter((a) => !keys.has(a.key));
      deduplicated.inc(alerts.length - fresh.length);
      if (fresh.length === 0) return [];
      for (let attempt = 1; ; attempt++) {
        const publishedAt = Date.now();
        try {
          await o.producer.send({
            topic: o.topic,
            acks: -1,
            messages: fresh.map((a) => ({
              key: a.camera,
              value: JSON.stringify({ ...a, publishedAt }),
              timestamp: String(Math.floor(a.endedAt)),
              headers: { 'fl-alert-key': a.key, 'fl-kind': a.kind },
            })),
          });
          break;
        } catch (err) {
          if (attempt >= ATTEMPTS) throw new Error(`alerts not accepted by ${o.topic} after ${ATTEMPTS} attempts: ${(err as Error).message}`);
          log.warn('publishing alerts failed; retrying', { alerts: fresh.length, attempt, error: err as Error });
          await new Promise((r) => setTimeout(r, 200 * 2 ** attempt));
        }
      }
      for (const a of fresh) {
        a.publishedAt = Date.now();
        remember(a.key);
        sent.inc({ kind: a.kind });
      }
      return fresh;
    },
  };
}
