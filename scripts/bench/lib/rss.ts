import { readdirSync, readFileSync } from 'node:fs';

function read(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** Parent of every live process, from /proc/<pid>/stat (field 4, after the command in parentheses). */
function parents(): Map<number, number> {
  const map = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = read(`/proc/${name}/stat`);
    const ppid = stat ? Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) : NaN;
    if (Number.isFinite(ppid)) map.set(Number(name), ppid);
  }
  return map;
}

/** Resident memory of a process and all its descendants (pdftoppm, gm…), in bytes. */
export function treeRss(pid: number): number {
  const byParent = new Map<number, number[]>();
  for (const [child, parent] of parents()) byParent.set(parent, [...(byParent.get(parent) ?? []), child]);
  let total = 0;
  const stack = [pid];
  while (stack.length) {
    const current = stack.pop() as number;
    const kb = /^VmRSS:\s+(\d+) kB/m.exec(read(`/proc/${current}/status`) ?? '')?.[1];
    total += Number(kb ?? 0) * 1024;
    stack.push(...(byParent.get(current) ?? []));
  }
  return total;
}

/** Samples the RSS of process trees every `intervalMs` and keeps each one's peak. */
export class PeakSampler {
  private readonly tracked = new Map<string, { pid: number; peak: number }>();
  private readonly timer: NodeJS.Timeout;

  constructor(intervalMs = 100) {
    this.timer = setInterval(() => this.sample(), intervalMs);
  }

  track(label: string, pid: number): void {
    this.tracked.set(label, { pid, peak: 0 });
    this.sample();
  }

  /** Peak since `track` or the last `reset`, in bytes. */
  peak(label: string): number {
    this.sample();
    return this.tracked.get(label)?.peak ?? 0;
  }

  reset(label: string): void {
    const entry = this.tracked.get(label);
    if (entry) entry.peak = treeRss(entry.pid);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private sample(): void {
    for (const entry of this.tracked.values()) entry.peak = Math.max(entry.peak, treeRss(entry.pid));
  }
}
