/**
 * On-disk format of the embedded store (see README "Embedded persistence"):
 *
 *   {dataDir}/state.lock          pid of the process that has the dir open
 *   {dataDir}/snapshot.json       full state + the generation of the journal that follows it;
 *                                 written to a temp file, fsynced, renamed, dir fsynced
 *   {dataDir}/journal-{gen}.log   JSON lines, one record per change since that snapshot;
 *                                 appended in batches, each batch fsynced before any
 *                                 caller of that batch gets its answer
 *
 * Records are absolute ("counter is now N", "claim is now V"), so replaying a record the
 * snapshot already covers changes nothing; that lets compaction snapshot state that
 * includes changes still queued for the journal.
 */
import { constants } from 'node:fs';
import { type FileHandle, mkdir, open, readdir, readFile, rename, rm, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { PerpmeshError } from '@perpmesh/core';
import type { AppliedSeqs } from './statestore.js';

export const SNAPSHOT_FILE = 'snapshot.json';
export const LOCK_FILE = 'state.lock';
export const SNAPSHOT_VERSION = 1;
export const journalFile = (gen: number): string => `journal-${gen}.log`;
const JOURNAL_NAME = /^journal-(\d+)\.log$/;

export type JournalRecord =
  | { readonly op: 'nonce'; readonly k: string; readonly next: string }
  | { readonly op: 'idem'; readonly k: string; readonly v: string; readonly exp: number }
  | { readonly op: 'idem-del'; readonly k: string }
  | { readonly op: 'proj'; readonly k: string; readonly state: string; readonly applied: AppliedSeqs };

export interface SnapshotData {
  readonly version: number;
  /** The journal generation whose records apply on top of this snapshot. */
  readonly journalGen: number;
  readonly nonces: Record<string, string>;
  readonly idem: Record<string, { readonly v: string; readonly exp: number }>;
  readonly projections: Record<string, { readonly state: string; readonly applied: AppliedSeqs }>;
}

/** Another live process (or another store in this one) has the data dir open. */
export class EmbeddedStoreLockedError extends PerpmeshError {
  constructor(dataDir: string, pid: number) {
    super('STATE_STORE_LOCKED', `data dir ${dataDir} is in use by process ${pid}`);
  }
}

/** A file in the data dir cannot be read back; nothing is overwritten. */
export class StateStoreCorruptError extends PerpmeshError {
  constructor(file: string, message: string, options?: { cause?: unknown }) {
    super('STATE_STORE_CORRUPT', `${file}: ${message}`, options);
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Takes the data dir's lock file. A lock left by a dead process (a crash) is taken over;
 * one held by a live process fails with EmbeddedStoreLockedError.
 */
export async function acquireLock(dataDir: string): Promise<string> {
  const path = join(dataDir, LOCK_FILE);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fh = await open(path, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY);
      await fh.writeFile(String(process.pid));
      await fh.close();
      return path;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const holder = Number.parseInt(await readFile(path, 'utf8').catch(() => ''), 10);
    if (Number.isInteger(holder) && holder > 0 && isAlive(holder))
      throw new EmbeddedStoreLockedError(dataDir, holder);
    await unlink(path).catch(() => undefined);
  }
  throw new EmbeddedStoreLockedError(dataDir, -1);
}

export async function releaseLock(lockPath: string): Promise<void> {
  await unlink(lockPath).catch(() => undefined);
}

/**
 * Parses journal text. A crash can leave the last record half-written (no trailing
 * newline): that tail is dropped, since its batch was never acknowledged. A complete line
 * that does not parse means the file is damaged, which is refused.
 */
export function parseJournal(text: string, file = 'journal'): JournalRecord[] {
  const lines = text.split('\n');
  lines.pop(); // "" after the last newline, or the torn tail
  return lines.map((line, index) => {
    try {
      const record = JSON.parse(line) as JournalRecord;
      if (typeof record !== 'object' || record === null || typeof record.k !== 'string')
        throw new Error('no key');
      if (!['nonce', 'idem', 'idem-del', 'proj'].includes(record.op))
        throw new Error(`unknown op ${record.op}`);
      return record;
    } catch (err) {
      throw new StateStoreCorruptError(file, `line ${index + 1} is not a journal record`, { cause: err });
    }
  });
}

export function emptySnapshot(): SnapshotData {
  return { version: SNAPSHOT_VERSION, journalGen: 0, nonces: {}, idem: {}, projections: {} };
}

/** Reads the snapshot and the journal that follows it (records in write order). */
export async function readDurableState(
  dataDir: string,
): Promise<{ snapshot: SnapshotData; records: JournalRecord[] }> {
  let snapshot = emptySnapshot();
  const snapshotPath = join(dataDir, SNAPSHOT_FILE);
  const snapshotText = await readFile(snapshotPath, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });
  if (snapshotText !== undefined) {
    try {
      snapshot = JSON.parse(snapshotText) as SnapshotData;
    } catch (err) {
      throw new StateStoreCorruptError(snapshotPath, 'is not JSON', { cause: err });
    }
    if (snapshot.version !== SNAPSHOT_VERSION || !Number.isSafeInteger(snapshot.journalGen)) {
      throw new StateStoreCorruptError(
        snapshotPath,
        `unsupported snapshot version ${String(snapshot.version)}`,
      );
    }
  }
  const journalPath = join(dataDir, journalFile(snapshot.journalGen));
  const journalText = await readFile(journalPath, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return '';
    throw err;
  });
  return { snapshot, records: parseJournal(journalText, journalPath) };
}

async function fsyncDir(dataDir: string): Promise<void> {
  const dir = await open(dataDir, 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

/** Atomically replaces snapshot.json (temp file, fsync, rename, dir fsync). */
export async function writeSnapshot(dataDir: string, snapshot: SnapshotData, fsync: boolean): Promise<void> {
  const tmp = join(dataDir, `${SNAPSHOT_FILE}.tmp`);
  const fh = await open(tmp, 'w');
  try {
    await fh.writeFile(JSON.stringify(snapshot));
    if (fsync) await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, join(dataDir, SNAPSHOT_FILE));
  if (fsync) await fsyncDir(dataDir);
}

/** Deletes journals of generations other than `keepGen` (already covered by the snapshot). */
export async function removeOldJournals(dataDir: string, keepGen: number): Promise<void> {
  for (const name of await readdir(dataDir)) {
    const match = JOURNAL_NAME.exec(name);
    if (match && Number(match[1]) !== keepGen) await rm(join(dataDir, name), { force: true });
  }
}

/** An append-only journal file; `append` returns once the lines are on disk. */
export class JournalWriter {
  #bytes = 0;
  private constructor(
    readonly gen: number,
    readonly path: string,
    private readonly fh: FileHandle,
    private readonly fsync: boolean,
  ) {}

  static async open(dataDir: string, gen: number, fsync: boolean): Promise<JournalWriter> {
    const path = join(dataDir, journalFile(gen));
    // 'w': a fresh generation starts empty (a leftover from a crashed compaction is not ours).
    const fh = await open(path, 'w');
    if (fsync) await fsyncDir(dataDir);
    return new JournalWriter(gen, path, fh, fsync);
  }

  get bytes(): number {
    return this.#bytes;
  }

  async append(text: string): Promise<void> {
    const buffer = Buffer.from(text, 'utf8');
    let offset = 0;
    while (offset < buffer.length) {
      const { bytesWritten } = await this.fh.write(buffer, offset, buffer.length - offset);
      offset += bytesWritten;
    }
    this.#bytes += buffer.length;
    if (this.fsync) await this.fh.datasync();
  }

  async close(): Promise<void> {
    await this.fh.close();
  }
}

export async function ensureDir(dataDir: string): Promise<void> {
  await mkdir(dataDir, { recursive: true });
}
