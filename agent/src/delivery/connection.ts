// The connection loop: while the broker is not connected, try again after a
// jittered, capped exponential backoff; a failed send (retry.ts's retriable
// SendError) marks the broker down and starts an outage. Reconnecting is the
// only remedy here; what happens to the frames meanwhile is the buffers'.
import { authorizationDenial, createBackoff, explainKafkaError, type AuthorizationDenial, type KafkaConnection, type Logger } from '@frameline/shared';
import type { Link } from './link.js';
import type { SendError } from './retry.js';
import { sleep, type Signal } from './signal.js';
import type { Tally } from './tally.js';

export interface ConnectionDeps {
  link: Link;
  kafka: KafkaConnection;
  reconnect: { initialMs: number; maxMs: number };
  log: Logger;
  tally: Tally;
  changed: Signal;
  /** Fires on stop: cuts a backoff sleep short. */
  stopSignal: Signal;
  closing(): boolean;
  /** After the outage state changed: re-apply the policy. */
  settle(): void;
  /** The topics the agent writes (named in a refusal not tied to one request). */
  topics: string[];
  /** The ACLs refused us: `message` names what and the ACL to add. Called once. */
  onRefused(message: string, denial: AuthorizationDenial): void;
  /** The refusal in operator words, with the ACL to add. */
  describeRefusal(denial: AuthorizationDenial, topics: string[]): string;
  /** Fields for the log lines: policy and frames waiting. */
  describe(): { policy: string; spooled: number; queued: number };
}

export interface Connection {
  /** From the first failed send or connection attempt until connected again. */
  readonly outage: boolean;
  run(): Promise<void>;
  /** A send failed for a reason a reconnect may fix. */
  sendFailed(error: SendError, topic: string, frames: number): Promise<void>;
  /** A send succeeded: the next outage's backoff starts small again. */
  sendSucceeded(): void;
  /** The ACLs refused a request on `topics`: stop reconnecting and report it once. */
  refused(denial: AuthorizationDenial, topics: string[]): void;
  /** The refusal message, once refused. */
  readonly refusal: string | undefined;
}

export function createConnection(deps: ConnectionDeps): Connection {
  const { link, log, tally, changed } = deps;
  const backoff = createBackoff(deps.reconnect);
  let outage = false;
  let refusal: string | undefined;

  const refused = (denial: AuthorizationDenial, topics: string[]): void => {
    link.markDown();
    outage = true;
    if (refusal) return;
    refusal = deps.describeRefusal(denial, topics);
    tally.lastError = refusal;
    log.error(refusal);
    deps.onRefused(refusal, denial);
    changed.notify();
  };

  async function run(): Promise<void> {
    let downSince: number | undefined;
    let warned = false;
    while (!deps.closing()) {
      const gen = changed.generation;
      if (link.state === 'connected' || refusal) {
        await changed.wait(gen);
        continue;
      }
      downSince ??= Date.now();
      try {
        await link.connect();
      } catch (e) {
        const denial = authorizationDenial(e);
        if (denial) {
          // At connect only the topics' metadata and (reliable) the idempotent producer id are asked for.
          refused({ api: denial.resource === 'cluster' ? 'InitProducerId' : 'Metadata', ...denial }, deps.topics);
          deps.settle();
          continue;
        }
        tally.lastError = `broker unreachable: ${explainKafkaError(e, deps.kafka).message}`;
        outage = true;
        const delay = backoff.next();
        // Once per outage at warn; every attempt after that at debug, so a long outage does not flood the journal.
        (warned ? log.debug : log.warn)('broker unreachable; reconnecting in the background', { inMs: delay, error: tally.lastError, policy: deps.describe().policy });
        warned = true;
        deps.settle();
        await sleep(delay, deps.stopSignal);
        continue;
      }
      const { spooled, queued } = deps.describe();
      log.info('connected to the broker', { afterMs: Date.now() - downSince, spooled, queued });
      downSince = undefined;
      warned = false;
      outage = false;
      tally.lastError = null;
      deps.settle();
    }
  }

  return {
    get outage() {
      return outage;
    },
    run,
    async sendFailed(error, topic, frames) {
      tally.lastError = error.message;
      if (error.remedy === 'renew-producer') {
        log.warn('the broker no longer accepts our idempotent producer id; starting a new producer', { error: error.message });
        await link.renewProducer();
      }
      const wasConnected = link.state === 'connected';
      link.markDown();
      outage = true;
      if (wasConnected) log.warn('send failed; broker marked down', { topic, frames, error: error.message });
    },
    sendSucceeded: () => backoff.reset(),
    refused,
    get refusal() {
      return refusal;
    },
  };
}
