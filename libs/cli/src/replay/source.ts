/**
 * The replay source for the CLI: `@perpmesh/replay`'s `openReplaySource`, with its usage
 * errors (no session, `--nats` without `--redis`) as the CLI's exit 2.
 */
import {
  openReplaySource as openSource,
  type ReplaySource,
  ReplaySourceError,
  type ReplaySourceOptions,
} from '@perpmesh/replay';
import { CliError, EXIT_UNAVAILABLE } from '../cli-errors.js';

export type { ReplaySource, ReplaySourceOptions };

export async function openReplaySource(opts: ReplaySourceOptions): Promise<ReplaySource> {
  try {
    return await openSource(opts);
  } catch (err) {
    if (err instanceof ReplaySourceError)
      throw new CliError(err.code, err.message, EXIT_UNAVAILABLE, { cause: err });
    throw err;
  }
}
