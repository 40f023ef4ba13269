// The agents' link to the broker for the soak: a TCP relay between the
// agents and the broker's EXTERNAL listener (TLS passes through untouched),
// whose link can fail on command. `silent` is a Wi-Fi drop: nothing moves
// either way and nobody is told (sockets paused, new connections held), so
// the agent must notice by its own timeouts; `reset` is a router reboot:
// every connection is reset and new ones are refused until `up`.
import { createServer, connect, type Server, type Socket } from 'node:net';

export type LinkState = 'up' | 'silent' | 'reset';

export interface LinkProxyStats {
  connections: number;
  /** Connections reset by a `reset` fault, or refused while it lasted. */
  reset: number;
  /** Connections held without an answer during `silent` and dropped because too many were waiting. */
  heldDropped: number;
  bytesUp: number;
  bytesDown: number;
}

export interface LinkProxy {
  /** host:port the agents dial (the broker must advertise it too). */
  address: string;
  state(): LinkState;
  set(state: LinkState): void;
  stats(): LinkProxyStats;
  close(): Promise<void>;
}

/** Connections held unanswered during `silent`: beyond this, the newest are dropped and counted. */
const MAX_HELD = 64;

/**
 * Listens on `listen` (host, port) and relays each connection to `upstream`.
 * The broker must advertise the proxy's address on EXTERNAL, or clients would
 * dial the broker directly after the bootstrap.
 */
export async function startLinkProxy(listen: { host: string; port: number }, upstream: { host: string; port: number }): Promise<LinkProxy> {
  let state: LinkState = 'up';
  const stats: LinkProxyStats = { connections: 0, reset: 0, heldDropped: 0, bytesUp: 0, bytesDown: 0 };
  const pairs = new Set<{ client: Socket; broker?: Socket }>();
  const held: Socket[] = [];

  const relay = (client: Socket) => {
    const pair: { client: Socket; broker?: Socket } = { client };
    pairs.add(pair);
    const broker = connect(upstream.port, upstream.host);
    pair.broker = broker;
    const end = () => {
      pairs.delete(pair);
      client.destroy();
      broker.destroy();
    };
    client.on('data', (b: Buffer) => {
      stats.bytesUp += b.length;
      broker.write(b);
    });
    broker.on('data', (b: Buffer) => {
      stats.bytesDown += b.length;
      client.write(b);
    });
    for (const s of [client, broker]) {
      s.on('error', end);
      s.on('close', end);
    }
  };

  const server: Server = createServer((client) => {
    stats.connections++;
    client.on('error', () => client.destroy());
    if (state === 'reset') {
      stats.reset++;
      client.resetAndDestroy();
    } else if (state === 'silent') {
      // Read nothing, answer nothing, as when the SYN-ACK is lost on the way back.
      client.pause();
      if (held.length >= MAX_HELD) {
        stats.heldDropped++;
        client.destroy();
      } else held.push(client);
    } else relay(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, () => resolve());
  });

  const set = (next: LinkState) => {
    state = next;
    if (next === 'silent') {
      for (const { client, broker } of pairs) {
        client.pause();
        broker?.pause();
      }
    } else if (next === 'reset') {
      for (const { client, broker } of [...pairs]) {
        stats.reset++;
        client.resetAndDestroy();
        broker?.destroy();
      }
      pairs.clear();
      for (const c of held.splice(0)) c.resetAndDestroy();
    } else {
      for (const { client, broker } of pairs) {
        client.resume();
        broker?.resume();
      }
      for (const c of held.splice(0)) {
        if (c.destroyed) continue;
        relay(c);
        c.resume();
      }
    }
  };

  return {
    address: `${listen.host}:${listen.port}`,
    state: () => state,
    set,
    stats: () => ({ ...stats }),
    close: async () => {
      set('reset');
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
