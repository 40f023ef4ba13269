// systemd service notifications (Type=notify, WatchdogSec=).
//
// READY=1 and STATUS= go through the `systemd-notify` npm package. It only
// knows --ready/--status/--pid, so WATCHDOG=1 and STOPPING=1 are sent by
// spawning the same systemd-notify(1) binary with those assignments: Node has
// no unix datagram sockets to write $NOTIFY_SOCKET directly, and this keeps
// one mechanism. The unit sets NotifyAccess=all because the message comes
// from a short-lived child (--pid names us as the sender).
// Without $NOTIFY_SOCKET (not under systemd) every call is a no-op.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import type { Logger } from '@frameline/shared';

type NotifyFn = (opts: { ready?: boolean; status?: string; pid?: number }) => Promise<unknown>;
const notifyPackage = createRequire(import.meta.url)('systemd-notify') as NotifyFn;

export interface Notifier {
  readonly enabled: boolean;
  /** Interval at which watchdog() must be called, or 0 when systemd expects no pings. */
  readonly watchdogIntervalMs: number;
  ready(status: string): void;
  status(status: string): void;
  watchdog(): void;
  stopping(status: string): void;
  /** Resolves once every notification sent so far has been handed to systemd. */
  flush(): Promise<void>;
}

export function createNotifier(env: NodeJS.ProcessEnv, logger: Logger): Notifier {
  const log = logger.child('systemd');
  if (!env.NOTIFY_SOCKET) {
    return { enabled: false, watchdogIntervalMs: 0, ready() {}, status() {}, watchdog() {}, stopping() {}, flush: async () => {} };
  }
  const watchdogUsec = Number(env.WATCHDOG_USEC ?? 0);
  const watchdogPid = Number(env.WATCHDOG_PID ?? process.pid);
  // Ping at half the timeout, as sd_watchdog_enabled(3) advises.
  const watchdogIntervalMs = watchdogUsec > 0 && watchdogPid === process.pid ? Math.max(500, Math.floor(watchdogUsec / 2000)) : 0;

  // One notification in flight at a time; newer statuses replace older queued
  // ones, so a slow systemd can never make this queue grow.
  let chain: Promise<void> = Promise.resolve();
  let pendingStatus: string | undefined;
  let failures = 0;
  const enqueue = (send: () => Promise<unknown>) => {
    chain = chain.then(send).then(
      () => undefined,
      (err: unknown) => {
        if (failures++ % 100 === 0) log.warn('systemd notification failed', { error: String(err), failures });
      },
    );
  };
  const sendRaw = (...assignments: string[]) =>
    new Promise<void>((resolve, reject) => {
      const child = spawn('systemd-notify', [`--pid=${process.pid}`, ...assignments], { stdio: 'ignore', env: { ...process.env, NOTIFY_SOCKET: env.NOTIFY_SOCKET } });
      child.once('error', reject);
      child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`systemd-notify exited ${code}`))));
    });
  const withSocket = <T>(fn: () => Promise<T>): Promise<T> => {
    const saved = process.env.NOTIFY_SOCKET;
    process.env.NOTIFY_SOCKET = env.NOTIFY_SOCKET;
    return fn().finally(() => {
      if (saved === undefined) delete process.env.NOTIFY_SOCKET;
      else process.env.NOTIFY_SOCKET = saved;
    });
  };

  return {
    enabled: true,
    watchdogIntervalMs,
    ready(status) {
      enqueue(() => withSocket(() => notifyPackage({ ready: true, status })));
    },
    status(status) {
      const queued = pendingStatus !== undefined;
      pendingStatus = status;
      if (queued) return;
      enqueue(() => {
        const s = pendingStatus!;
        pendingStatus = undefined;
        return withSocket(() => notifyPackage({ status: s }));
      });
    },
    watchdog() {
      enqueue(() => sendRaw('WATCHDOG=1'));
    },
    stopping(status) {
      enqueue(() => sendRaw('STOPPING=1', `STATUS=${status}`));
    },
    flush: () => chain,
  };
}
