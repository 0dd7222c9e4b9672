/**
 * A ProjectionStore in one JSON file, for crash tests: it outlives the process that wrote
 * it, so a restarted consumer sees what a killed one saved. Atomic (temp + rename + fsync).
 */
import { open, readFile, rename } from 'node:fs/promises';
import {
  type AppliedSeqs,
  PROJECTION_CONFLICT_CODE,
  type ProjectionSnapshot,
  type ProjectionStore,
} from '@perpmesh/bus';
import { PerpmeshError } from '@perpmesh/core';

export class FileProjectionStore implements ProjectionStore {
  constructor(private readonly path: string) {}

  async loadProjection<S>(name: string): Promise<ProjectionSnapshot<S> | undefined> {
    return (await this.readAll())[name] as ProjectionSnapshot<S> | undefined;
  }

  async saveProjection<S>(name: string, state: S, applied: AppliedSeqs, expected: AppliedSeqs | undefined) {
    const all = await this.readAll();
    if (JSON.stringify(all[name]?.applied ?? {}) !== JSON.stringify(expected ?? {})) {
      throw new PerpmeshError(PROJECTION_CONFLICT_CODE, `projection ${name} moved`);
    }
    all[name] = { state, applied };
    const tmp = `${this.path}.tmp`;
    const fh = await open(tmp, 'w');
    try {
      await fh.writeFile(JSON.stringify(all));
      await fh.datasync();
    } finally {
      await fh.close();
    }
    await rename(tmp, this.path);
  }

  private async readAll(): Promise<Record<string, ProjectionSnapshot<unknown>>> {
    try {
      return JSON.parse(await readFile(this.path, 'utf8'));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
      throw err;
    }
  }
}
