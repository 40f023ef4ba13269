// What to tell the operator when the broker's ACLs refuse the cloud service:
// which resource, for which user, and the ACL that would allow it. Such a
// refusal is not retried: the service stops with EXIT_NOPERM (77).
import type { AuthorizationDenial } from '@frameline/shared';
import type { CloudConfig } from './config.js';

/** The requests by which the service writes (results, DLQ); any other topic request reads frames. */
const WRITE_APIS = new Set(['Produce', 'InitProducerId', 'AddPartitionsToTxn']);

/** One line naming what was refused and the kafka-acls.sh command that grants it. */
export function describeRefusal(denial: AuthorizationDenial, config: CloudConfig): string {
  const user = config.kafka.username;
  const acl = (args: string) => `kafka-acls.sh --bootstrap-server <broker> --command-config <admin.properties> --add --allow-principal User:${user} ${args}`;
  const on = denial.api ? ` on a ${denial.api} request` : '';
  switch (denial.resource) {
    case 'group':
      return `the broker refused consumer group "${config.kafka.groupId}" to user "${user}"${on} (${denial.detail}). ` +
        `Use a kafka.groupId the ACLs grant (deploy/kafka/provision.mjs grants the prefix "frameline-"), or add: ${acl(`--operation Read --group ${config.kafka.groupId}`)}`;
    case 'topic': {
      const t = config.topics;
      const writing = denial.api !== undefined && WRITE_APIS.has(denial.api);
      const topics = writing ? [t.inferences, ...(config.ingest.dlq ? [t.dlq] : [])] : [t.frames, ...(config.ingest.backfill ? [t.backfill] : [])];
      const ops = writing ? '--operation Write --operation Describe' : '--operation Read --operation Describe';
      return `the broker refused user "${user}" ${writing ? 'writing' : 'reading'} a topic${on} (${denial.detail}); it needs ${writing ? 'Write' : 'Read'} and Describe on ${topics.join(', ')}. ` +
        `Add: ${topics.map((topic) => acl(`${ops} --topic ${topic}`)).join(' ; ')}`;
    }
    case 'cluster':
      return `the broker refused user "${user}" a cluster operation${on} (${denial.detail}); the service needs none when its topics exist: create them (deploy/kafka/kafka.sh provisions them) or check topic names in the config`;
    case 'transactional-id':
      return `the broker refused user "${user}" a transactional id${on} (${denial.detail}); the service uses no transactions: check the client configuration`;
  }
}
