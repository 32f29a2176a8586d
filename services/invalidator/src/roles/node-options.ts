/**
 * The V8 heap the invalidator role is run with in the image's compose file and the bench
 * (operator's guide, "Memory"). Without it Node sizes the heap from the machine's memory and V8
 * collects late: the invalidator's RSS reached 180 MiB in the bench (Node 20) and more on Node 24,
 * most of it garbage. Its live set is bounded by the consumer's fetch bounds (bus/consumer.ts:
 * 2 MiB a fetch, 512 KiB a partition held per batch in progress) and by coalesced offset commits,
 * and peaked at 26-48 MiB of heap in use under this cap through the whole bench (10k txn/s, a
 * 300k burst, a 1M backlog) on Node 20 and 24, with RSS at 97-149 MiB, for about 30 % more CPU
 * per change than uncapped.
 */
export const INVALIDATOR_NODE_OPTIONS = '--max-old-space-size=96 --max-semi-space-size=8';
