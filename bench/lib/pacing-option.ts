import { Option } from 'commander';
import { PACINGS } from './load-job.js';

/** `--pacing`, shared by the suite and the soak: how open-loop runs release their calls. */
export function pacingOption(): Option {
  return new Option('--pacing <mode>', 'open loop: release each call at its time (even) or the calls due together on a 1 ms tick (tick)')
    .choices(PACINGS)
    .default('even');
}
