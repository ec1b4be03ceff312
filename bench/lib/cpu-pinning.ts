/**
 * `--pin`: the runner alone on CPU 0, the load generator and redis-server on the
 * other CPUs. On a small machine the scheduler otherwise decides, call by call,
 * whether the runner or the harness runs, and the runner's tail latency measures
 * that choice (on two vCPUs, HS256 at half of peak: p99 about 0.5 ms pinned against
 * 1.2-1.3 ms unpinned in interleaved runs). Pinned runs answer "how fast is the
 * runner given a core"; unpinned ones "how fast on this shared machine".
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

export interface CpuPlan {
  /** `taskset` CPU list for the runner and its worker processes. */
  readonly runner: string;
  /** CPU list for the generator and redis-server. */
  readonly harness: string;
}

/** The plan for this machine: CPU 0 for the runner, the rest for the harness. */
export function cpuPlan(): CpuPlan {
  const cpus = availableParallelism();
  if (cpus < 2) throw new Error('--pin needs at least two CPUs');
  return { runner: '0', harness: cpus === 2 ? '1' : `1-${cpus - 1}` };
}

/**
 * Restrict every thread of a running process to `cpus` (threads it starts later
 * inherit it). Needs `taskset` from util-linux.
 */
export function pinProcess(pid: number, cpus: string): void {
  try {
    execFileSync('taskset', ['--all-tasks', '--pid', '--cpu-list', cpus, String(pid)], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    const detail = (err as { stderr?: Buffer }).stderr?.toString('utf8').trim();
    throw new Error(`--pin: taskset could not pin process ${pid} to CPUs ${cpus}${detail ? `: ${detail}` : ''}`, { cause: err });
  }
  // With --all-tasks, taskset exits 0 for a process that does not exist: check the result.
  const allowed = allowedCpus(pid);
  if (allowed === null) throw new Error(`--pin: taskset could not pin process ${pid}: no such process`);
}

/** The CPU list a process may run on (`Cpus_allowed_list`), or null when it does not exist. */
export function allowedCpus(pid: number): string | null {
  try {
    const line = readFileSync(`/proc/${pid}/status`, 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Cpus_allowed_list:'));
    return line?.split(':')[1]?.trim() ?? null;
  } catch {
    return null;
  }
}
