/**
 * What execution sets up at a venue account besides orders:
 *
 * - Account settings from config (leverage and margin mode per venue / account /
 *   instrument), applied before the account is ready. A venue that cannot take a setting
 *   is a config error the account's readiness names, never silently skipped.
 * - The venue's dead-man switch (`scheduleCancelAll`): armed once the account is up,
 *   refreshed well before its deadline; if execution dies or loses the venue, the venue
 *   cancels the account's open orders when the deadline passes. The kill switch (HALTED)
 *   stops the refreshing after canceling everything now.
 *
 * Pure planning here (what to call, with which deadline); the engine makes the calls.
 */
import {
  type AccountId,
  type Decimal,
  type InstrumentId,
  ValidationError,
  type VenueId,
} from '@perpmesh/core';
import type { MarginMode, VenueCapabilities } from '@perpmesh/venues';

/** One account setting from config. */
export interface AccountSetting {
  readonly venue: VenueId;
  readonly account: AccountId;
  readonly instrument: InstrumentId;
  readonly leverage?: Decimal | undefined;
  readonly marginMode?: MarginMode | undefined;
}

/** The dead-man switch from config: `afterMs` the deadline, refreshed every `refreshMs`. */
export interface DeadManSwitchSettings {
  readonly afterMs: number;
  readonly refreshMs: number;
}

/** The settings of one account, each checked against what the venue supports. */
export function accountSettingsFor(
  settings: readonly AccountSetting[],
  venue: VenueId,
  account: AccountId,
  capabilities: Pick<VenueCapabilities, 'setLeverage' | 'marginModes'>,
): AccountSetting[] {
  const mine = settings.filter((s) => s.venue === venue && s.account === account);
  for (const s of mine) {
    const where = `execution.accountSettings[${venue}/${account}/${s.instrument}]`;
    if (s.leverage !== undefined && !capabilities.setLeverage) {
      throw new ValidationError(`${where}.leverage`, `${venue} does not support setting leverage`);
    }
    if (s.marginMode !== undefined && !(capabilities.marginModes ?? []).includes(s.marginMode)) {
      const offered = capabilities.marginModes?.length ? capabilities.marginModes.join(', ') : 'none';
      throw new ValidationError(
        `${where}.marginMode`,
        `${venue} does not offer margin mode ${s.marginMode} (offers: ${offered})`,
      );
    }
  }
  return mine;
}

/**
 * The deadline to arm at a venue: the configured one, raised to the venue's minimum; and the
 * refresh period, kept below a third of the deadline so two missed refreshes still do not
 * let it fire. Undefined when the switch is off (`afterMs` 0) or the venue has none.
 */
export function deadManSwitchPlan(
  settings: DeadManSwitchSettings | undefined,
  capabilities: Pick<VenueCapabilities, 'scheduleCancelAll' | 'scheduleCancelAllMinMs'>,
): DeadManSwitchSettings | undefined {
  if (!settings || settings.afterMs <= 0 || !capabilities.scheduleCancelAll) return undefined;
  const afterMs = Math.max(settings.afterMs, capabilities.scheduleCancelAllMinMs ?? 0);
  const refreshMs = Math.max(1, Math.min(settings.refreshMs, Math.floor(afterMs / 3)));
  return { afterMs, refreshMs };
}
