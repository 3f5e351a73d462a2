/**
 * Resident set size of another process, from /proc/<pid>/status (Linux). The sampler reads VmRSS
 * every `intervalMs`; the kernel's own high-water mark (VmHWM) is read too, after resetting it
 * (`echo 5 > /proc/<pid>/clear_refs`), so a peak shorter than the sampling interval is not missed.
 */
import { readFileSync, writeFileSync } from 'node:fs';

const kib = 1024;

function statusField(pid: number, field: 'VmRSS' | 'VmHWM'): number | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return null;
  }
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text);
  return match ? Number(match[1]) * kib : null;
}

export function rssBytes(pid: number): number | null {
  return statusField(pid, 'VmRSS');
}

/** Resets the kernel's peak-RSS counter of `pid`; false when this kernel or user may not. */
export function resetPeakRss(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

export function peakRssBytes(pid: number): number | null {
  return statusField(pid, 'VmHWM');
}

export interface RssWindow {
  /** RSS just before the work started (median of the idle samples). */
  baseline: number;
  /** Highest sampled RSS while the work ran. */
  peak: number;
  /** The kernel's VmHWM over the work, when it could be reset first; else null. */
  kernelPeak: number | null;
  samples: number;
}

/**
 * Samples `pid` for `idleMs` before `work` (the baseline) and every `intervalMs` while it runs
 * (the peak), and returns both with whatever `work` returned.
 */
export async function measureRss<T>(pid: number, work: () => Promise<T>, options: { intervalMs?: number; idleMs?: number } = {}): Promise<{ rss: RssWindow; result: T }> {
  const intervalMs = options.intervalMs ?? 10;
  const idle: number[] = [];
  const idleUntil = Date.now() + (options.idleMs ?? 300);
  while (Date.now() < idleUntil) {
    const value = rssBytes(pid);
    if (value !== null) idle.push(value);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  if (idle.length === 0) throw new Error(`cannot read /proc/${pid}/status (is this Linux, and is the process alive?)`);
  idle.sort((a, b) => a - b);
  const baseline = idle[Math.floor(idle.length / 2)]!;

  const canReset = resetPeakRss(pid);
  let peak = baseline;
  let samples = 0;
  const sample = () => {
    const value = rssBytes(pid);
    if (value === null) return;
    samples++;
    if (value > peak) peak = value;
  };
  sample();
  const timer = setInterval(sample, intervalMs);
  try {
    const result = await work();
    sample();
    const kernelPeak = canReset ? peakRssBytes(pid) : null;
    return { rss: { baseline, peak, kernelPeak, samples }, result };
  } finally {
    clearInterval(timer);
  }
}

export function mb(bytes: number): number {
  return bytes / (1024 * 1024);
}

/** User + system CPU seconds `pid` has used so far (from /proc/<pid>/stat; clock ticks of 1/100 s). */
export function cpuSeconds(pid: number): number | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // The command name (field 2) may hold spaces; the fields after its closing parenthesis do not.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return Number.isFinite(utime) && Number.isFinite(stime) ? (utime + stime) / 100 : null;
}
