/**
 * Where each replica of a lease-divided service (market data, per-account ownership) is
 * reached: its gRPC `host:port`, in the state store under its holder name, so a replica can
 * forward a query to the holder of the key's lease.
 */
import type { StateStore } from './statestore.js';

/** The address record outlives a crashed holder's leases; nobody asks for it once they lapse. */
const ADDRESS_KEY_TTL_MS = 86_400_000;

export class ReplicaAddresses {
  readonly #store: StateStore;
  readonly #scope: string;
  /** `scope`: one per service, e.g. `md-address`, `account-address:<consumerName>`. */
  constructor(store: StateStore, scope: string) {
    this.#store = store;
    this.#scope = scope;
  }

  async register(holder: string, address: string): Promise<void> {
    const claim = await this.#store.claimIdempotencyKey(this.#scope, holder, address, ADDRESS_KEY_TTL_MS);
    if (!claim.claimed && claim.existingValue !== address)
      await this.#store.updateIdempotencyValue(this.#scope, holder, claim.existingValue, address);
  }

  addressOf(holder: string): Promise<string | undefined> {
    return this.#store.getIdempotencyKey(this.#scope, holder);
  }

  async unregister(holder: string, address: string): Promise<void> {
    await this.#store.releaseIdempotencyKey(this.#scope, holder, address);
  }
}
