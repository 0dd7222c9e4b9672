/**
 * The chaos suite's failure switch (`CHAOS_BREAK`), read only by the chaos entry points:
 * `resend` runs the execution replicas from execution-resend-main.ts, which resends each load
 * order after the venue's ack (the "resend on timeout" ordering bug), so a run must report
 * the breach with its seed.
 */
import { fileURLToPath } from 'node:url';
import type { ChaosOptions } from './chaos.js';
import { CHAOS_TOKEN_ENV } from './system.js';

export const BREAK_SWITCHES = ['resend'] as const;

/** The load orders' client order id prefix the resend switch hits. */
export const RESEND_PREFIX = 'load';

export function breakSwitch(value: string | undefined): Pick<ChaosOptions, 'executionEntry'> {
  if (value === undefined || value === '') return {};
  if (value !== 'resend') {
    throw new Error(
      `CHAOS_BREAK: unknown switch ${JSON.stringify(value)} (one of ${BREAK_SWITCHES.join(', ')})`,
    );
  }
  return {
    executionEntry: {
      entry: fileURLToPath(new URL('./execution-resend-main.ts', import.meta.url)),
      env: {
        PERPMESH_TEST_CHAOS_RESEND: RESEND_PREFIX,
        PERPMESH_TEST_CHAOS_TOKEN_ENV: CHAOS_TOKEN_ENV,
      },
    },
  };
}
