/**
 * The bookkeeping of `after` (pure): chunks of a downstream target waiting until an upstream
 * target's consumer group has reached an offset on the same partition, and the highest offset
 * each upstream group is known to have reached (from its committed offsets, or from its consumer
 * in this process). The poller (gate.ts) asks it what to fetch and tells it what it found.
 */

/** One partition of one upstream consumer group. */
export interface UpstreamPosition {
  readonly groupId: string;
  readonly topic: string;
  readonly partition: number;
}

/** A waiting chunk: it may be applied once the upstream group's next offset is at least `next`. */
export interface Waiter extends UpstreamPosition {
  readonly next: bigint;
}

const keyOf = (p: UpstreamPosition) => `${p.groupId}\u0000${p.topic}\u0000${p.partition}`;

export class WaitBook<W extends Waiter> {
  /** The next offset each group is known to need on each partition: everything below is confirmed. */
  private readonly reached = new Map<string, bigint>();
  private readonly waiting = new Set<W>();

  /** True when the upstream already reached the waiter's offset (nothing recorded); else records it. */
  add(waiter: W): boolean {
    if ((this.reached.get(keyOf(waiter)) ?? -1n) >= waiter.next) return true;
    this.waiting.add(waiter);
    return false;
  }

  remove(waiter: W): void {
    this.waiting.delete(waiter);
  }

  /**
   * The upstream group reached `next` on the partition (all offsets below it confirmed). Known
   * positions only move forward: an older answer arriving late changes nothing. Returns the
   * waiters this frees, no longer recorded.
   */
  advance(position: UpstreamPosition, next: bigint): W[] {
    const key = keyOf(position);
    const known = this.reached.get(key);
    if (known !== undefined && known >= next) return [];
    this.reached.set(key, next);
    const freed: W[] = [];
    for (const w of this.waiting) {
      if (w.next <= next && keyOf(w) === key) freed.push(w);
    }
    for (const w of freed) this.waiting.delete(w);
    return freed;
  }

  /** Per upstream group, the topics some waiter needs: one offset fetch per group covers them all. */
  wanted(): Map<string, string[]> {
    const topics = new Map<string, Set<string>>();
    for (const w of this.waiting) {
      let set = topics.get(w.groupId);
      if (!set) topics.set(w.groupId, (set = new Set()));
      set.add(w.topic);
    }
    return new Map([...topics].map(([group, set]) => [group, [...set].sort()]));
  }

  waiters(): IterableIterator<W> {
    return this.waiting.values();
  }

  get size(): number {
    return this.waiting.size;
  }
}
