// Test support: a seeded pseudo-random generator (mulberry32), so fuzz tests
// print their seed and any failure replays exactly with FRAMELINE_FUZZ_SEED.

export interface Random {
  seed: number;
  /** Uniform in [0, 1). */
  next(): number;
  /** Integer in [0, n). */
  int(n: number): number;
  bytes(n: number): Buffer;
  pick<T>(items: readonly T[]): T;
}

export function seededRandom(seed = Number(process.env.FRAMELINE_FUZZ_SEED ?? Date.now() % 2 ** 31)): Random {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  return {
    seed,
    next,
    int,
    bytes: (n) => Buffer.from(Array.from({ length: n }, () => int(256))),
    pick: (items) => items[int(items.length)]!,
  };
}

/**
 * How many cases a fuzz test runs: `suiteCases` in `npm test`, or
 * FRAMELINE_FUZZ_CASES (a positive integer) when the soak asks for more.
 */
export function fuzzCases(suiteCases: number): number {
  const wanted = process.env.FRAMELINE_FUZZ_CASES;
  if (wanted === undefined || wanted === '') return suiteCases;
  const n = Number(wanted);
  if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`FRAMELINE_FUZZ_CASES must be a positive integer, not "${wanted}"`);
  return n;
}
