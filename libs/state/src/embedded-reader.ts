/**
 * A read-only view of an embedded store's files (replay, audits): no lock, no writes, so it
 * works while the owning process runs and after it ended. It reads `snapshot.json` and the
 * journal that follows it, as `EmbeddedStateStore.open` does, and leaves a torn last line
 * alone (the owner may be writing it).
 *
 * Besides the current value of a projection it gives its history: every saved state since
 * the last compaction (the snapshot's, then each journal record), each with the stream
 * sequences it had applied. A replay compares its rebuild with each of them.
 */
import { stat } from 'node:fs/promises';
import { ValidationError } from '@perpmesh/core';
import { readDurableState, type SnapshotData } from './embedded-files.js';
import { DEFAULT_KEY_PREFIX, stateKeys } from './keys.js';
import type { ProjectionSnapshot } from './statestore.js';
import { checkProjectionName } from './validation.js';

export class EmbeddedStateReader {
  private readonly keys = stateKeys(DEFAULT_KEY_PREFIX);
  private constructor(readonly dataDir: string) {}

  static async open(dataDir: string): Promise<EmbeddedStateReader> {
    const info = await stat(dataDir).catch(() => undefined);
    if (!info?.isDirectory()) {
      throw new ValidationError('dataDir', `${dataDir} is not an embedded state store directory`);
    }
    return new EmbeddedStateReader(dataDir);
  }

  /** Every saved state of the projection, oldest first (empty when it was never saved). */
  async projectionHistory<S>(name: string): Promise<ProjectionSnapshot<S>[]> {
    checkProjectionName(name);
    const key = this.keys.projection(name);
    const { snapshot, records } = await this.consistentState();
    const history: ProjectionSnapshot<S>[] = [];
    const base = snapshot.projections[key];
    if (base) history.push({ state: JSON.parse(base.state) as S, applied: { ...base.applied } });
    for (const r of records) {
      if (r.op === 'proj' && r.k === key) {
        history.push({ state: JSON.parse(r.state) as S, applied: { ...r.applied } });
      }
    }
    return history;
  }

  /** The projection's current saved state, or undefined. */
  async loadProjection<S>(name: string): Promise<ProjectionSnapshot<S> | undefined> {
    const history = await this.projectionHistory<S>(name);
    return history[history.length - 1];
  }

  /**
   * The snapshot and its journal as one consistent picture: if the owner compacted between
   * the two reads (new snapshot, old journal removed), read again.
   */
  private async consistentState(): Promise<{
    snapshot: SnapshotData;
    records: Awaited<ReturnType<typeof readDurableState>>['records'];
  }> {
    for (let attempt = 0; ; attempt++) {
      const first = await readDurableState(this.dataDir);
      const again = await readDurableState(this.dataDir);
      if (
        first.snapshot.journalGen === again.snapshot.journalGen &&
        again.records.length >= first.records.length
      ) {
        return again;
      }
      if (attempt >= 10) return again;
    }
  }
}
