/** Reads a process's memory figures from /proc (Linux), for "memory stays bounded" checks. */
import { readFileSync } from 'node:fs';

/** Resident set size of `pid` in kB (`VmRSS` in /proc/PID/status), or null when unreadable. */
export function residentKb(pid: number): number | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
    return match === null ? null : Number(match[1]);
  } catch {
    return null;
  }
}
