// A bounded async queue that keeps the newest items: when it is full, a push
// evicts the oldest waiting item and counts it. Live video wants the latest
// frame, never a growing backlog behind a slow consumer.

export interface LatestQueue<T> extends AsyncIterable<T> {
  /** Adds an item; evicts the oldest when `capacity` items already wait. Ignored after close(). */
  push(item: T): void;
  /** Ends iteration once the waiting items are taken. */
  close(): void;
  /** Items evicted because the queue was full. */
  readonly dropped: number;
  /** Items waiting now. */
  readonly size: number;
  readonly closed: boolean;
}

export function createLatestQueue<T>(capacity: number): LatestQueue<T> {
  if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`queue capacity must be a positive integer, got ${capacity}`);
  const items: T[] = [];
  const waiters: ((result: IteratorResult<T>) => void)[] = [];
  let dropped = 0;
  let closed = false;

  const done = (): IteratorResult<T> => ({ done: true, value: undefined });

  const next = (): Promise<IteratorResult<T>> => {
    if (items.length > 0) return Promise.resolve({ done: false, value: items.shift() as T });
    if (closed) return Promise.resolve(done());
    return new Promise((resolve) => waiters.push(resolve));
  };

  const close = (): void => {
    if (closed) return;
    closed = true;
    for (const w of waiters.splice(0)) w(done());
  };

  return {
    push(item) {
      if (closed) return;
      const waiter = waiters.shift();
      if (waiter) return waiter({ done: false, value: item });
      if (items.length >= capacity) {
        items.shift();
        dropped++;
      }
      items.push(item);
    },
    close,
    get dropped() {
      return dropped;
    },
    get size() {
      return items.length;
    },
    get closed() {
      return closed;
    },
    [Symbol.asyncIterator]() {
      return {
        next,
        // A consumer that leaves early only detaches (its pending next() ends);
        // the producer decides when the queue itself ends.
        return: async () => {
          for (const w of waiters.splice(0)) w(done());
          return done();
        },
      };
    },
  };
}
