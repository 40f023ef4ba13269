// What to tell the operator when the broker's ACLs refuse the agent: which
// topic or cluster operation, for which user, and the ACL that allows it.
// Reconnecting cannot fix a refusal, so delivery stops trying and the agent
// exits with EXIT_NOPERM (77); in reliable mode its frames stay spooled.
import type { AuthorizationDenial } from '@frameline/shared';

export interface RefusalContext {
  /** The SASL user the agent connects as. */
  user: string;
  /** The topic whose request was refused, when known (a produce request); else every topic the agent writes. */
  topics: string[];
  /** Reliable mode: unsent frames wait in the spool. */
  spooled: boolean;
}

/** The kafka-acls.sh command that grants `args` to `user`. */
function aclCommand(user: string, args: string): string {
  return `kafka-acls.sh --bootstrap-server <broker> --command-config <admin.properties> --add --allow-principal User:${user} ${args}`;
}

/** One line naming what was refused and the ACL to add, for the log and the exit. */
export function describeRefusal(denial: AuthorizationDenial, ctx: RefusalContext): string {
  const on = denial.api ? ` on the ${denial.api} request` : '';
  const after = ctx.spooled ? '; the frames stay in the spool and are sent once it is granted and the agent restarted' : '';
  switch (denial.resource) {
    case 'topic':
      return `the broker refused user "${ctx.user}" writing ${ctx.topics.map((t) => `"${t}"`).join(', ')}${on} (${denial.detail}): ` +
        `the agent needs Write and Describe on ${ctx.topics.length > 1 ? 'them' : 'it'}${after}. ` +
        `Add: ${ctx.topics.map((t) => aclCommand(ctx.user, `--operation Write --operation Describe --topic ${t}`)).join(' ; ')}`;
    case 'cluster':
      // Since Kafka 2.8 Write on any topic implies IdempotentWrite, so the topic ACL is the usual fix.
      return `the broker refused user "${ctx.user}" the idempotent producer (IdempotentWrite on the cluster)${on} (${denial.detail}), which reliable mode needs${after}. ` +
        `Add Write on the frame topics: ${ctx.topics.map((t) => aclCommand(ctx.user, `--operation Write --operation Describe --topic ${t}`)).join(' ; ')}` +
        ` (or ${aclCommand(ctx.user, '--operation IdempotentWrite --cluster')})`;
    case 'group':
    case 'transactional-id':
      return `the broker refused user "${ctx.user}" a ${denial.resource} operation${on} (${denial.detail}); the agent uses none: check the client configuration`;
  }
}
