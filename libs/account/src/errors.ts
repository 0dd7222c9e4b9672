/**
 * Errors of the account service. `code` maps to a gRPC status at the one edge
 * (libs/runtime DOMAIN_CODE_TO_GRPC_STATUS): UNAVAILABLE, or NOT_FOUND for an account another replica owns.
 */
import { PerpmeshError } from '@perpmesh/core';

/**
 * Balances asked for were never read from the venue. We answer with this rather than
 * with zeros or an empty list: "no balance known" and "a balance of 0" must never look alike.
 */
export class BalancesUnavailableError extends PerpmeshError {
  /** `venue/account` → why its balances are not known. */
  readonly accounts: Readonly<Record<string, string>>;
  constructor(accounts: Readonly<Record<string, string>>) {
    const list = Object.entries(accounts)
      .map(([name, reason]) => `${name}: ${reason}`)
      .join('; ');
    super('UNAVAILABLE', `balances not available yet (never fetched from the venue): ${list}`);
    this.accounts = accounts;
  }
}

/**
 * This instance is a hot standby: another instance holds the account lease and does the
 * work, so we have no current figures to answer with. The reason names the holder.
 */
export class AccountStandbyError extends PerpmeshError {
  constructor(reason: string) {
    super('UNAVAILABLE', `account service instance is not active (${reason}): ask the active instance`);
  }
}

/**
 * per_account ownership: another replica owns this account (or nobody does right now), so
 * this one has no current figures for it. NOT_FOUND, naming the owner to ask.
 */
export class AccountNotOwnedError extends PerpmeshError {
  readonly owner: string | undefined;
  constructor(venue: string, account: string, owner: string | undefined) {
    super(
      'NOT_FOUND',
      owner === undefined
        ? `${venue}/${account} is not owned by any account replica right now (leases being taken over): retry`
        : `${venue}/${account} is served by another account replica: ask ${owner}`,
    );
    this.owner = owner;
  }
}

/**
 * per_account ownership: nobody holds this account's lease right now (its owner stopped or
 * died and another replica is taking it over). UNAVAILABLE: retry shortly.
 */
export class AccountOwnershipMovingError extends PerpmeshError {
  constructor(venue: string, account: string) {
    super(
      'UNAVAILABLE',
      `${venue}/${account}: no account replica owns it right now (ownership is moving to another replica): retry`,
    );
  }
}
