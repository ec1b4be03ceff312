/** Every fuzz target, in the order `npm run fuzz` runs them. */
import { confTarget } from './conf-target.js';
import { frameDecoderTarget } from './frame-decoder-target.js';
import type { FuzzTarget } from './fuzz-target.js';
import { gatewayDecodersTarget, runnerDecodersTarget } from './message-targets.js';
import { tokenTarget } from './token-target.js';
import { wireTarget } from './wire-target.js';

export const FUZZ_TARGETS: readonly FuzzTarget[] = [
  frameDecoderTarget,
  runnerDecodersTarget,
  gatewayDecodersTarget,
  tokenTarget,
  confTarget,
  wireTarget,
];
