// The soak's fault schedule: seeded, one fault at a time, with a quiet start
// and a quiet end so that the last fault's backlog drains before the count.
import type { Random } from '@frameline/shared/testing';

export type FaultKind = 'broker-sigkill' | 'link-silent' | 'link-reset' | 'cloud-sigkill';

export interface Fault {
  kind: FaultKind;
  /** Seconds the fault lasts (broker down, link out, consumer gone) before it is repaired. */
  durationS: number;
  /** Which cloud instance, for cloud-sigkill. */
  target: number;
  /** Seconds to wait after the previous fault was repaired. */
  gapS: number;
}

const KINDS: { kind: FaultKind; weight: number; minS: number; maxS: number }[] = [
  { kind: 'broker-sigkill', weight: 3, minS: 2, maxS: 15 },
  { kind: 'link-silent', weight: 2.5, minS: 5, maxS: 35 },
  { kind: 'link-reset', weight: 1.5, minS: 3, maxS: 15 },
  { kind: 'cloud-sigkill', weight: 3, minS: 1, maxS: 8 },
];

/** The next fault drawn from `r`: gap 10-60 s, then one of the kinds by weight. */
export function nextFault(r: Random, clouds: number): Fault {
  const total = KINDS.reduce((n, k) => n + k.weight, 0);
  let x = r.next() * total;
  const k = KINDS.find((c) => (x -= c.weight) < 0) ?? KINDS[0]!;
  return {
    kind: k.kind,
    durationS: Math.round(k.minS + r.next() * (k.maxS - k.minS)),
    target: r.int(clouds),
    gapS: Math.round(10 + r.next() * 50),
  };
}
