/**
 * Who holds a lease, precisely enough that a restart on the same machine can PROVE the old
 * holder dead and take its lease at once instead of waiting out the TTL (issue 15, finding 9).
 *
 * A holder made by `processLeaseHolder(label)` ends with the process's identity:
 * `<label> (host <h> pid <p> start <ticks> boot <boot id> pidns <pid namespace>)`.
 * The old holder is provably dead only when it ran in the same pid namespace of the same
 * kernel boot on this host (so its pid means the same process here) and that pid is gone,
 * a zombie, or now a different process (its start time differs: the pid was reused, e.g. by
 * this very process). Anything else (another host, another container's pid namespace, a
 * reboot, /proc unreadable, a holder without an identity) proves nothing: the caller waits
 * for the lease to expire as before. A live holder is never declared dead, and the takeover
 * itself is a compare-and-set on the holder's value, so a holder that renewed meanwhile keeps it.
 */
import { readFileSync, readlinkSync } from 'node:fs';
import { hostname } from 'node:os';

export interface ProcessIdentity {
  /** The host name, URI-encoded (no spaces, no '|'). */
  readonly host: string;
  readonly pid: number;
  /** Start time in clock ticks since boot (/proc/<pid>/stat field 22); '' when unknown. */
  readonly startTicks: string;
  /** The kernel's boot id; '' when unknown. */
  readonly bootId: string;
  /** The pid namespace's inode (containers have their own); '' when unknown. */
  readonly pidNamespace: string;
}

/** What this host tells about a pid (injected in tests). */
export interface ProcessProbe {
  /** undefined: no such process (or a zombie: it can renew nothing). */
  inspect(pid: number): { readonly startTicks: string | undefined } | undefined;
}

export type HolderVerdict =
  | { readonly dead: true; readonly reason: string }
  | { readonly dead: false; readonly reason: string };

const UNKNOWN = '-';
const IDENTITY = / \(host (\S+) pid (\d+) start (\S+) boot (\S+) pidns (\S+)\)$/;

/** `label` followed by the identity; never contains '|'. */
export function formatLeaseHolder(label: string, id: ProcessIdentity): string {
  const or = (text: string) => text || UNKNOWN;
  return `${label} (host ${id.host} pid ${id.pid} start ${or(id.startTicks)} boot ${or(id.bootId)} pidns ${or(id.pidNamespace)})`;
}

/** The identity at the end of a holder made by `formatLeaseHolder`; undefined for any other holder. */
export function parseLeaseHolderIdentity(holder: string): ProcessIdentity | undefined {
  const m = IDENTITY.exec(holder);
  if (!m) return undefined;
  const [, host, pid, startTicks, bootId, pidNamespace] = m as unknown as [
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  const known = (text: string) => (text === UNKNOWN ? '' : text);
  return {
    host,
    pid: Number(pid),
    startTicks: known(startTicks),
    bootId: known(bootId),
    pidNamespace: known(pidNamespace),
  };
}

/** The decision, pure: is the process `holder` names provably dead, seen from `self` on this host? */
export function judgeLeaseHolder(
  holder: ProcessIdentity,
  self: ProcessIdentity,
  probe: ProcessProbe,
): HolderVerdict {
  if (holder.host !== self.host) return { dead: false, reason: `runs on another host (${holder.host})` };
  if (!holder.bootId || !self.bootId || holder.bootId !== self.bootId) {
    return { dead: false, reason: 'not provably from this boot of this host' };
  }
  if (!holder.pidNamespace || !self.pidNamespace || holder.pidNamespace !== self.pidNamespace) {
    return { dead: false, reason: 'runs in another pid namespace (container)' };
  }
  const seen = probe.inspect(holder.pid);
  if (seen === undefined) return { dead: true, reason: `process ${holder.pid} is not running` };
  if (!holder.startTicks || seen.startTicks === undefined) {
    return { dead: false, reason: `process ${holder.pid} runs and its start time is unknown` };
  }
  if (seen.startTicks !== holder.startTicks) {
    return {
      dead: true,
      reason: `pid ${holder.pid} is another process now (started at tick ${seen.startTicks}, the holder at ${holder.startTicks})`,
    };
  }
  return { dead: false, reason: `process ${holder.pid} is running` };
}

/** `/proc/<pid>/stat` → state and start time (fields 3 and 22; the name in field 2 may hold spaces). */
export function parseProcStat(text: string): { state: string; startTicks: string } | undefined {
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const state = fields[0];
  const startTicks = fields[19];
  if (!state || !startTicks || !/^\d+$/.test(startTicks)) return undefined;
  return { state, startTicks };
}

function readOr(read: () => string, fallback: string): string {
  try {
    return read();
  } catch {
    return fallback;
  }
}

/** Reads /proc (Linux); elsewhere `kill(pid, 0)` alone, so a live pid never proves anything. */
export const localProcessProbe: ProcessProbe = {
  inspect(pid) {
    const stat = readOr(() => readFileSync(`/proc/${pid}/stat`, 'utf8'), '');
    if (stat) {
      const parsed = parseProcStat(stat);
      if (parsed && (parsed.state === 'Z' || parsed.state === 'X')) return undefined;
      return { startTicks: parsed?.startTicks };
    }
    try {
      process.kill(pid, 0);
      return { startTicks: undefined };
    } catch (err) {
      // EPERM: it exists, owned by someone else.
      return (err as NodeJS.ErrnoException).code === 'ESRCH' ? undefined : { startTicks: undefined };
    }
  },
};

let self: ProcessIdentity | undefined;

/** This process's identity (read once). */
export function currentProcessIdentity(): ProcessIdentity {
  self ??= {
    host: encodeURIComponent(hostname()),
    pid: process.pid,
    startTicks: localProcessProbe.inspect(process.pid)?.startTicks ?? '',
    bootId: readOr(() => readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim(), ''),
    pidNamespace: readOr(() => /\[(\d+)\]/.exec(readlinkSync('/proc/self/ns/pid'))?.[1] ?? '', ''),
  };
  return self;
}

/** A lease holder name for this process: `label` plus its identity (see the module comment). */
export function processLeaseHolder(label: string): string {
  return formatLeaseHolder(label, currentProcessIdentity());
}

/** Is the holder of a lease provably dead, judged from this process? (Lease's default.) */
export function leaseHolderProvablyDead(holder: string): HolderVerdict {
  const identity = parseLeaseHolderIdentity(holder);
  if (identity === undefined) return { dead: false, reason: 'the holder names no process identity' };
  return judgeLeaseHolder(identity, currentProcessIdentity(), localProcessProbe);
}
