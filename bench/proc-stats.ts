/**
 * What the benches read about a process from /proc (Linux; undefined elsewhere) and the
 * small statistics they print: resident size, CPU time, the load average, a least-squares
 * slope and quantiles.
 */

import { readdirSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';

/** Resident set size of a process in bytes (VmRSS of /proc/<pid>/status). */
export function rssBytes(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const kb = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb === undefined ? undefined : Number(kb) * 1024;
  } catch {
    return undefined;
  }
}

/** Bytes of a process's memory by kind, from /proc/<pid>/smaps_rollup (every mapping summed). */
export interface SmapsRollup {
  /** Resident, as VmRSS. */
  readonly rss: number;
  /** Resident pages not backed by a file: heaps, malloc arenas, stacks, V8's spaces. */
  readonly anonymous: number;
  /** Resident pages written by this process alone (anonymous or a private file mapping). */
  readonly privateDirty: number;
}

/** Parses the text of /proc/<pid>/smaps_rollup; undefined when a field is missing. */
export function parseSmapsRollup(text: string): SmapsRollup | undefined {
  const kb = (field: string) => {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(text);
    return m ? Number(m[1]) * 1024 : undefined;
  };
  const rss = kb('Rss');
  const anonymous = kb('Anonymous');
  const privateDirty = kb('Private_Dirty');
  if (rss === undefined || anonymous === undefined || privateDirty === undefined) return undefined;
  return { rss, anonymous, privateDirty };
}

/** A process's /proc/<pid>/smaps_rollup (Linux 4.14+), undefined when unreadable. */
export function smapsRollup(pid: number | undefined): SmapsRollup | undefined {
  if (pid === undefined) return undefined;
  try {
    return parseSmapsRollup(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
  } catch {
    return undefined;
  }
}

/** Number of threads of a process (/proc/<pid>/status). */
export function threadCount(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const n = /^Threads:\s+(\d+)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return n === undefined ? undefined : Number(n);
  } catch {
    return undefined;
  }
}

/** Pids of a process's child processes (/proc/<pid>/task/<tid>/children of each thread); [] when unreadable. */
export function childPids(pid: number | undefined): number[] {
  if (pid === undefined) return [];
  try {
    return readdirSync(`/proc/${pid}/task`).flatMap((tid) => {
      try {
        return readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8')
          .split(' ')
          .filter((x) => x.trim() !== '')
          .map(Number);
      } catch {
        return [];
      }
    });
  } catch {
    return [];
  }
}

/** CPU ms (user + system) a process has used so far (/proc/<pid>/stat, clock ticks of 10 ms). */
export function cpuMs(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    // Fields after the command name: utime and stime are the 12th and 13th.
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return undefined;
  }
}

/**
 * Read and write system calls a process (all its threads) has made so far (`syscr` / `syscw`
 * of /proc/<pid>/io; socket writes and writevs count as writes).
 */
export function ioSyscalls(pid: number | undefined): { reads: number; writes: number } | undefined {
  if (pid === undefined) return undefined;
  try {
    const io = readFileSync(`/proc/${pid}/io`, 'utf8');
    const reads = /^syscr: (\d+)$/m.exec(io)?.[1];
    const writes = /^syscw: (\d+)$/m.exec(io)?.[1];
    return reads === undefined || writes === undefined
      ? undefined
      : { reads: Number(reads), writes: Number(writes) };
  } catch {
    return undefined;
  }
}

/** The 1, 5 and 15 minute load averages, as printed beside every bench's numbers. */
export function loadAverage(): string {
  return loadavg()
    .map((x) => x.toFixed(2))
    .join(' / ');
}

/** Least-squares slope of y over x (units of y per unit of x); 0 for fewer than two distinct x. */
export function slope(points: ReadonlyArray<{ x: number; y: number }>): number {
  const n = points.length;
  if (n < 2) return 0;
  const mx = points.reduce((s, p) => s + p.x, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (const p of points) {
    sxy += (p.x - mx) * (p.y - my);
    sxx += (p.x - mx) ** 2;
  }
  return sxx === 0 ? 0 : sxy / sxx;
}

/** The q-quantile (0..1) of numbers, nearest rank below; NaN for none. */
export function quantile(xs: readonly number[], q: number): number {
  if (xs.length === 0) return Number.NaN;
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
}
