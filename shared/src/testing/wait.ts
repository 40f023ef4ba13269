// Test support: polling for a condition with a deadline, and a free local port.
import { createServer } from 'node:net';

/** Polls `probe` every `intervalMs` until it gives a value; rejects naming `what` after `timeoutMs`. */
export async function waitForValue<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 20_000, intervalMs = 20): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** Polls `condition` every `intervalMs` until it holds; rejects naming `what` after `timeoutMs`. */
export async function waitFor(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 20_000, intervalMs = 20): Promise<void> {
  await waitForValue(what, async () => ((await condition()) ? true : undefined), timeoutMs, intervalMs);
}

/** A TCP port on 127.0.0.1 that was free a moment ago (the OS picked it; it is closed again before this resolves). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}
