import type { Admin, KafkaConfig } from 'kafkajs';
export interface TopicNames { frames: string; backfill: string; inferences: string; alerts: string; dlq: string; agents?: string }
export const DEFAULT_TOPICS: TopicNames;
export function readClientProperties(file: string): Record<string, string>;
export function adminClientConfig(props: Record<string, string>, clientId?: string): KafkaConfig;
export function aclsFor(topics: TopicNames, groupPrefix?: string): unknown[];
export const DEFAULT_ALERTS_RETENTION_DAYS: number;
export function provision(admin: Admin, topics?: TopicNames, partitions?: number, options?: { factor?: number; minInsync?: number; alertsRetentionDays?: number }): Promise<string[]>;
