/** Top self-time functions of a V8 .cpuprofile (as written by `node --cpu-prof`). */
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

export interface HotFunction {
  name: string;
  where: string;
  selfMs: number;
  share: number;
}

/**
 * Sample times in a .cpuprofile are microseconds of the monotonic clock, the one behind
 * `process.hrtime` in every process on the machine, so the bench can cut a phase out of the
 * server's profile with `window` (microseconds, from `monotonicUs()` in the bench process).
 */
export function monotonicUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

export function topSelfTime(
  path: string,
  root: string,
  count = 20,
  window?: { fromUs: number; toUs: number },
): { totalMs: number; busyMs: number; top: HotFunction[] } {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfUs = new Map<number, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  // A sample is taken at startTime plus the deltas so far; its weight is the delta to the next one.
  let at = profile.startTime;
  for (let i = 0; i < samples.length; i++) {
    at += deltas[i] ?? 0;
    if (window && (at < window.fromUs || at > window.toUs)) continue;
    const next = deltas[i + 1] ?? 0;
    selfUs.set(samples[i]!, (selfUs.get(samples[i]!) ?? 0) + Math.max(0, next));
  }
  const grouped = new Map<string, HotFunction>();
  let totalUs = 0;
  let idleUs = 0;
  for (const [id, us] of selfUs) {
    const frame = byId.get(id)!.callFrame;
    totalUs += us;
    if (frame.functionName === '(idle)') idleUs += us;
    const file = frame.url.replace(/^file:\/\//, '');
    const where = file ? `${file.startsWith(root) ? relative(root, file) : file}:${frame.lineNumber + 1}` : '';
    const name = frame.functionName || '(anonymous)';
    const key = `${name}@${where}`;
    const entry = grouped.get(key) ?? { name, where, selfMs: 0, share: 0 };
    entry.selfMs += us / 1000;
    grouped.set(key, entry);
  }
  const top = [...grouped.values()].sort((a, b) => b.selfMs - a.selfMs).slice(0, count);
  for (const entry of top) entry.share = totalUs > 0 ? entry.selfMs / (totalUs / 1000) : 0;
  return { totalMs: totalUs / 1000, busyMs: (totalUs - idleUs) / 1000, top };
}
