/**
 * File primitives for the embedded log and the file outbox.
 *
 * `AppendJournal` is an append-only file (JSON lines, or binary records: `appendBytes`) with
 * group commit: appends queued while a write is in flight go out together in one write and
 * one fdatasync, so N concurrent publishers pay for one fsync, not N. A torn tail (a crash
 * mid-write) is cut off on open: it was never acknowledged, because an append resolves only
 * after its bytes (and, with fsync on, the sync) completed.
 *
 * fsync policy (`FsyncPolicy`):
 * - 'always' (default): an append resolves after fdatasync; survives power loss.
 * - 'never': an append resolves after write(2); survives a process crash (the page cache
 *   outlives the process) but not a power loss. For tests and throw-away dev data.
 */
import { randomBytes } from 'node:crypto';
import {
  type FileHandle,
  mkdir,
  open,
  readFile,
  rename,
  rm,
  stat,
  truncate,
  writeFile,
} from 'node:fs/promises';
import { dirname } from 'node:path';
import { DataDirLockedError, EventLogClosedError } from './errors.js';

export type FsyncPolicy = 'always' | 'never';

/** How much of a journal is read at a time when it is scanned on open. */
const SCAN_CHUNK_BYTES = 1 << 20;

interface PendingAppend {
  /** Text lines (the embedded log) or encoded records (the file outbox). */
  readonly data: string | Uint8Array;
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
}

export class AppendJournal {
  readonly path: string;
  private fh: FileHandle;
  private readonly fsync: FsyncPolicy;
  private queue: PendingAppend[] = [];
  private writing: Promise<void> | undefined;
  private failure: unknown;
  private closed = false;

  private constructor(path: string, fh: FileHandle, fsync: FsyncPolicy) {
    this.path = path;
    this.fh = fh;
    this.fsync = fsync;
  }

  /** Opens (creating) the journal and returns its complete lines; a torn tail is truncated away. */
  static async open(path: string, fsync: FsyncPolicy): Promise<{ journal: AppendJournal; lines: string[] }> {
    const lines: string[] = [];
    const { journal } = await AppendJournal.openScanning(path, fsync, (line) => {
      lines.push(line);
    });
    return { journal, lines };
  }

  /**
   * Opens (creating) the journal, handing each complete line to `onLine` with its byte
   * offset, without holding the file in memory; a torn tail is truncated away. Returns the
   * file's length after that.
   */
  static async openScanning(
    path: string,
    fsync: FsyncPolicy,
    onLine: (line: string, offset: number) => void,
  ): Promise<{ journal: AppendJournal; bytes: number }> {
    await mkdir(dirname(path), { recursive: true });
    let goodLength = 0;
    for await (const { line, offset } of completeLines(path)) {
      onLine(line, offset);
      goodLength = offset + Buffer.byteLength(line) + 1;
    }
    return { journal: await AppendJournal.openAfter(path, fsync, goodLength), bytes: goodLength };
  }

  /**
   * Opens (creating) the journal for appending after cutting it to `goodLength` bytes: the
   * caller scanned it and found a torn tail there (or none, when it is the file's length).
   */
  static async openAfter(path: string, fsync: FsyncPolicy, goodLength: number): Promise<AppendJournal> {
    await mkdir(dirname(path), { recursive: true });
    const size = (await stat(path).catch(() => undefined))?.size ?? 0;
    if (goodLength < size) await truncate(path, goodLength);
    const fh = await open(path, 'a');
    return new AppendJournal(path, fh, fsync);
  }

  /** Appends lines (each without '\n'); resolves once they are written (and synced, per policy). */
  append(lines: readonly string[]): Promise<void> {
    if (lines.length === 0) return this.enqueue(undefined);
    return this.enqueue(`${lines.join('\n')}\n`);
  }

  /** Appends bytes as they are; resolves like `append`. */
  appendBytes(data: Uint8Array): Promise<void> {
    return this.enqueue(data.length === 0 ? undefined : data);
  }

  private enqueue(data: string | Uint8Array | undefined): Promise<void> {
    if (this.closed) return Promise.reject(new EventLogClosedError(`journal ${this.path}`));
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (data === undefined) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ data, resolve, reject });
      if (!this.writing) this.writing = this.drain();
    });
  }

  /** Resolves when everything appended so far is written. */
  async flushed(): Promise<void> {
    while (this.writing) await this.writing;
  }

  /**
   * Atomically replaces the whole journal with `produce()`'s lines (compaction): write a
   * temp file, sync it, rename over, sync the directory. Runs as the journal's writer, so
   * `produce` sees a state where every earlier append is on disk, and appends made
   * meanwhile wait and land in the new file.
   */
  async rewrite(produce: () => readonly string[]): Promise<void> {
    await this.rewriteBytes(() => {
      const lines = produce();
      return lines.length ? `${lines.join('\n')}\n` : '';
    });
  }

  /** `rewrite` with the whole new content at once (text or bytes). */
  async rewriteBytes(produce: () => string | Uint8Array): Promise<void> {
    await this.#replaceAsWriter(async (path) => {
      await writeFileAtomic(path, produce(), this.fsync);
    });
  }

  /**
   * Compaction without holding the file in memory: atomically replaces the journal with
   * `header` (one line) followed by the journal's bytes from `fromOffset` to its end. Runs
   * as the journal's writer, like `rewrite`. `onReplaced` runs synchronously once the new
   * file is in place, before any append waiting meanwhile is written, with how far every
   * byte after `fromOffset` moved (new offset = old offset + shift).
   */
  async rewriteTail(header: string, fromOffset: number, onReplaced: (shift: number) => void): Promise<void> {
    const head = `${header}\n`;
    await this.#replaceAsWriter(
      async (path) => {
        const tmp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
        const out = await open(tmp, 'w');
        const source = await open(path, 'r');
        try {
          await out.write(head);
          const chunk = Buffer.alloc(SCAN_CHUNK_BYTES);
          for (let at = fromOffset; ; ) {
            const { bytesRead } = await source.read(chunk, 0, chunk.length, at);
            if (bytesRead === 0) break;
            await out.write(chunk, 0, bytesRead);
            at += bytesRead;
          }
          if (this.fsync === 'always') await out.datasync();
        } finally {
          await source.close();
          await out.close();
        }
        await rename(tmp, path);
        if (this.fsync === 'always') await syncDir(dirname(path));
      },
      () => onReplaced(Buffer.byteLength(head) - fromOffset),
    );
  }

  /**
   * Runs `replace(path)` (which puts a new file at the journal's path) as the journal's only
   * writer: every earlier append is on disk first, appends made meanwhile wait and land in
   * the new file. Then the journal appends to the new file; `onReplaced` runs right after,
   * before any waiting append is written. A failure poisons the journal.
   */
  async #replaceAsWriter(replace: (path: string) => Promise<void>, onReplaced?: () => void): Promise<void> {
    while (this.writing) await this.writing;
    if (this.failure !== undefined) throw this.failure;
    let release!: () => void;
    this.writing = new Promise<void>((resolve) => {
      release = resolve;
    });
    try {
      await replace(this.path);
      const old = this.fh;
      this.fh = await open(this.path, 'a');
      onReplaced?.();
      await old.close();
    } catch (err) {
      this.failure = err;
      throw err;
    } finally {
      this.writing = undefined;
      release();
      if (this.queue.length > 0) this.writing = this.drain();
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.flushed();
    this.closed = true;
    await this.fh.close();
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue;
      this.queue = [];
      try {
        await this.fh.appendFile(joined(batch));
        if (this.fsync === 'always') await this.fh.datasync();
        for (const p of batch) p.resolve();
      } catch (err) {
        // After a failed write or fsync the file's state is unknown (fsyncgate): refuse
        // every later append instead of pretending the data is safe.
        this.failure = err;
        for (const p of [...batch, ...this.queue]) p.reject(err);
        this.queue = [];
      }
    }
    this.writing = undefined;
  }
}

/** One write's worth of queued appends: the one chunk as it is, else concatenated. */
function joined(batch: readonly PendingAppend[]): string | Uint8Array {
  if (batch.length === 1) return (batch[0] as PendingAppend).data;
  if (batch.every((p) => typeof p.data === 'string')) return batch.map((p) => p.data).join('');
  return Buffer.concat(batch.map((p) => (typeof p.data === 'string' ? Buffer.from(p.data) : p.data)));
}

/**
 * The complete lines of a file with their byte offsets, read a chunk at a time (never the
 * whole file in memory), up to the file's size when opened: a line appended later, or a
 * last line still missing its newline, is left out. A missing file has no lines. Reading
 * one open handle, it sees the file it opened even if a rename replaces it meanwhile.
 */
export async function* completeLines(path: string): AsyncGenerator<{ line: string; offset: number }> {
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  try {
    const size = (await fh.stat()).size;
    const chunk = Buffer.alloc(SCAN_CHUNK_BYTES);
    let carry = Buffer.alloc(0);
    let read = 0;
    let offset = 0;
    while (read < size) {
      const { bytesRead } = await fh.read(chunk, 0, Math.min(chunk.length, size - read), read);
      if (bytesRead === 0) break;
      read += bytesRead;
      const buf = carry.length
        ? Buffer.concat([carry, chunk.subarray(0, bytesRead)])
        : chunk.subarray(0, bytesRead);
      let start = 0;
      for (let nl = buf.indexOf(0x0a, start); nl >= 0; nl = buf.indexOf(0x0a, start)) {
        yield { line: buf.toString('utf8', start, nl), offset };
        offset += nl + 1 - start;
        start = nl + 1;
      }
      carry = Buffer.from(buf.subarray(start));
    }
  } finally {
    await fh.close();
  }
}

/** Replaces `path` with `data` atomically (temp file + rename), syncing per policy. */
export async function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  fsync: FsyncPolicy,
): Promise<void> {
  const tmp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  const fh = await open(tmp, 'w');
  try {
    await fh.writeFile(data);
    if (fsync === 'always') await fh.datasync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
  if (fsync === 'always') await syncDir(dirname(path));
}

/** fsyncs a directory: makes a rename or unlink in it durable. */
export async function syncDir(dir: string): Promise<void> {
  const dh = await open(dir, 'r');
  try {
    await dh.sync();
  } finally {
    await dh.close();
  }
}

const lockedInThisProcess = new Set<string>();

/**
 * Exclusive use of a data dir: a LOCK file holding the owner's pid. A lock left by a dead
 * process (crash, SIGKILL) is taken over; a live one is refused. Two instances in one
 * process are refused too.
 */
export async function lockDir(dir: string): Promise<() => Promise<void>> {
  await mkdir(dir, { recursive: true });
  const lockPath = `${dir}/LOCK`;
  if (lockedInThisProcess.has(lockPath)) throw new DataDirLockedError(dir, process.pid);
  try {
    await writeFile(lockPath, String(process.pid), { flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    const holder = Number.parseInt(await readFile(lockPath, 'utf8').catch(() => ''), 10);
    if (Number.isSafeInteger(holder) && holder > 0 && holder !== process.pid && isAlive(holder)) {
      throw new DataDirLockedError(dir, holder);
    }
    await writeFile(lockPath, String(process.pid));
  }
  lockedInThisProcess.add(lockPath);
  return async () => {
    lockedInThisProcess.delete(lockPath);
    await rm(lockPath, { force: true });
  };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
