/**
 * Linux /proc readings of a process tree: CPU time (utime + stime), resident memory
 * and open file descriptors. The tree is the process and every descendant, so a
 * runner that forks workers is measured as a whole.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

/** Clock ticks per second of /proc/PID/stat times (USER_HZ); almost always 100. */
export const CLOCK_TICKS_PER_SECOND = readClockTicks();

function readClockTicks(): number {
  try {
    const value = Number.parseInt(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim(), 10);
    return Number.isFinite(value) && value > 0 ? value : 100;
  } catch {
    return 100;
  }
}

interface StatFields {
  readonly ppid: number;
  /** utime + stime in clock ticks. */
  readonly cpuTicks: number;
}

/** Parses /proc/PID/stat; null when the process is gone. The command name may hold spaces and parentheses. */
function readStat(pid: number): StatFields | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // After the command: state(3) ppid(4) ... utime(14) stime(15), numbered from 1 in proc(5).
  const ppid = Number(fields[1]);
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return { ppid, cpuTicks: utime + stime };
}

/** `pid` and all its descendants that are alive now. */
export function processTree(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    const child = Number(entry);
    if (!Number.isInteger(child) || child <= 0) continue;
    const stat = readStat(child);
    if (stat === null) continue;
    const list = children.get(stat.ppid);
    if (list === undefined) children.set(stat.ppid, [child]);
    else list.push(child);
  }
  const tree: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const next = queue.pop()!;
    tree.push(next);
    queue.push(...(children.get(next) ?? []));
  }
  return tree;
}

/** CPU seconds (user + system) used so far by the given processes. */
export function cpuSeconds(pids: readonly number[]): number {
  let ticks = 0;
  for (const pid of pids) ticks += readStat(pid)?.cpuTicks ?? 0;
  return ticks / CLOCK_TICKS_PER_SECOND;
}

/** Resident set size in bytes (VmRSS summed over the processes). */
export function rssBytes(pids: readonly number[]): number {
  let kib = 0;
  for (const pid of pids) {
    try {
      const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (match?.[1] !== undefined) kib += Number(match[1]);
    } catch {
      // The process is gone: it holds no memory.
    }
  }
  return kib * 1024;
}

/** Open file descriptors (entries of /proc/PID/fd summed over the processes). */
export function openFdCount(pids: readonly number[]): number {
  let count = 0;
  for (const pid of pids) {
    try {
      count += readdirSync(`/proc/${pid}/fd`).length;
    } catch {
      // Gone, or not ours to read.
    }
  }
  return count;
}

/**
 * Samples the peak RSS of a process tree every `intervalMs` until stopped. The tree
 * is re-read each time so workers started later are included.
 */
export class RssSampler {
  readonly #rootPid: number;
  readonly #timer: NodeJS.Timeout;
  #peakBytes = 0;

  constructor(rootPid: number, intervalMs = 250) {
    this.#rootPid = rootPid;
    this.sample();
    this.#timer = setInterval(() => this.sample(), intervalMs);
    this.#timer.unref();
  }

  sample(): number {
    const bytes = rssBytes(processTree(this.#rootPid));
    if (bytes > this.#peakBytes) this.#peakBytes = bytes;
    return bytes;
  }

  get peakBytes(): number {
    return this.#peakBytes;
  }

  stop(): number {
    clearInterval(this.#timer);
    this.sample();
    return this.#peakBytes;
  }
}
