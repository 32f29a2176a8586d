/** `after`: a target applies a change only once another target confirmed it (see gate.ts). */
export { createUpstreamGate, type CommittedOffsets, type UpstreamGate } from './gate.js';
export { isLastingOffsetError, kafkaCommittedOffsets } from './kafka-offsets.js';
export type { UpstreamPosition } from './book.js';
