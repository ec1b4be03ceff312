/**
 * Summarises a V8 `.cpuprofile` (from `run-suite --cpu-prof DIR`): the functions
 * with the most self time, and self time grouped by source area (our runner,
 * the jwt plugin, each dependency, Node internals, GC).
 *
 * Samples from the first `--skip` seconds (start-up, warm-up) can be left out. A
 * third list charges time spent in Node internals and native code to the nearest
 * caller in our code or a dependency, which says who to blame for a `writeBuffer`.
 *
 *   node dist/bench/profile-summary.js PROFILE.cpuprofile [--top 30] [--skip SECONDS]
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly children?: readonly number[];
}

interface CpuProfile {
  readonly startTime: number;
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

function isProfile(value: unknown): value is CpuProfile {
  const v = value as Partial<CpuProfile> | null;
  return v !== null && typeof v === 'object' && Array.isArray(v.nodes) && Array.isArray(v.samples) && Array.isArray(v.timeDeltas);
}

/** Where a frame's code lives, coarse enough to act on. */
function area(url: string, functionName: string): string {
  if (functionName === '(garbage collector)') return 'GC';
  if (functionName === '(idle)' || functionName === '(program)') return functionName;
  if (url === '') return '(native / V8)';
  const dep = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (dep?.[1] !== undefined) return `dep: ${dep[1]}`;
  if (url.startsWith('node:')) return 'node internals';
  const ours = /dist\/(runner|plugins|bin)\/(.*)$/.exec(url);
  if (ours?.[1] !== undefined && ours[2] !== undefined) return `${ours[1]}/${ours[2].split('/').slice(0, -1).join('/') || '.'}`;
  return url;
}

function shortUrl(url: string): string {
  return url.replace(/^file:\/\/.*?\/(dist|node_modules)\//, '$1/');
}

function flag(name: string, fallback: number): number {
  const index = process.argv.indexOf(name);
  const value = index > 0 ? Number(process.argv[index + 1]) : Number.NaN;
  return Number.isFinite(value) ? value : fallback;
}

/** Whether a frame is ours or a dependency's (not Node internals, native code or V8 pseudo-frames). */
function isUserland(url: string): boolean {
  return url.startsWith('file://');
}

function frameName(frame: ProfileNode['callFrame']): string {
  return `${frame.functionName || '(anonymous)'} ${shortUrl(frame.url)}${frame.url === '' ? '' : `:${frame.lineNumber + 1}`}`;
}

function main(): void {
  const path = process.argv[2];
  if (path === undefined) throw new Error('usage: profile-summary PROFILE.cpuprofile [--top N] [--skip SECONDS]');
  const top = flag('--top', 30);
  const skipUs = flag('--skip', 0) * 1e6;
  const parsed: unknown = JSON.parse(readFileSync(path, 'utf8'));
  if (!isProfile(parsed)) throw new Error(`${path} is not a V8 CPU profile`);
  const byId = new Map(parsed.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const node of parsed.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const selfUs = new Map<number, number>();
  let elapsed = 0;
  for (let i = 0; i < parsed.samples.length; i++) {
    const delta = parsed.timeDeltas[i] ?? 0;
    elapsed += delta;
    if (elapsed < skipUs) continue;
    const id = parsed.samples[i]!;
    selfUs.set(id, (selfUs.get(id) ?? 0) + delta);
  }
  /** Internal/native self time charged to the nearest userland caller. */
  const byCaller = new Map<string, number>();
  const byFunction = new Map<string, number>();
  const byArea = new Map<string, number>();
  let total = 0;
  let idle = 0;
  for (const [id, us] of selfUs) {
    const frame = byId.get(id)?.callFrame;
    if (frame === undefined) continue;
    total += us;
    if (frame.functionName === '(idle)') {
      idle += us;
      continue;
    }
    const name = frameName(frame);
    if (!isUserland(frame.url) && frame.functionName !== '(garbage collector)' && frame.functionName !== '(program)') {
      let up = parent.get(id);
      while (up !== undefined && !isUserland(byId.get(up)?.callFrame.url ?? '')) up = parent.get(up);
      const caller = up === undefined ? '(no userland caller)' : frameName(byId.get(up)!.callFrame);
      byCaller.set(caller, (byCaller.get(caller) ?? 0) + us);
    }
    byFunction.set(name, (byFunction.get(name) ?? 0) + us);
    const where = area(frame.url, frame.functionName);
    byArea.set(where, (byArea.get(where) ?? 0) + us);
  }
  const busy = total - idle;
  const pct = (us: number): string => `${((us / busy) * 100).toFixed(1).padStart(5)} %`;
  process.stdout.write(`profile ${path}: ${skipUs > 0 ? `first ${skipUs / 1e6} s skipped, ` : ''}${(total / 1e6).toFixed(1)} s sampled, ${(busy / 1e6).toFixed(1)} s busy (percentages of busy time)\n\n`);
  process.stdout.write('self time by area:\n');
  for (const [name, us] of [...byArea].sort((a, b) => b[1] - a[1]).slice(0, 20)) process.stdout.write(`  ${pct(us)}  ${name}\n`);
  process.stdout.write(`\ntop ${top} functions by self time:\n`);
  for (const [name, us] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, top)) process.stdout.write(`  ${pct(us)}  ${name}\n`);
  process.stdout.write(`\nNode-internal and native self time by nearest userland caller (top ${Math.min(top, 20)}):\n`);
  for (const [name, us] of [...byCaller].sort((a, b) => b[1] - a[1]).slice(0, Math.min(top, 20))) process.stdout.write(`  ${pct(us)}  ${name}\n`);
}

// Piped into `head`: stop quietly when the reader goes away.
process.stdout.on('error', () => process.exit(0));
main();
