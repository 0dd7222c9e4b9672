/**
 * How services find the venue ports they need: one port per configured (venue, account),
 * and one per venue for public market data. Built once at start from config — paper
 * venues in process (embedded), through the paper-venue service (distributed), or real
 * venue adapters — so services never care which.
 */
import { ValidationError } from '@perpmesh/core';
import type { VenuePort } from './port.js';

export interface VenueDirectory {
  /** The port trading as `account` on `venue`; a ValidationError naming the field when unknown. */
  port(venue: string, account: string): VenuePort;
  /** A port for public market data on `venue` (any of its accounts). */
  marketPort(venue: string): VenuePort;
  has(venue: string, account?: string): boolean;
  /** Every (venue, account) port, in configuration order. */
  all(): VenuePort[];
  venues(): string[];
  close(): Promise<void>;
}

export class StaticVenueDirectory implements VenueDirectory {
  readonly #ports: VenuePort[];
  readonly #byKey = new Map<string, VenuePort>();

  constructor(ports: VenuePort[]) {
    this.#ports = [...ports];
    for (const p of ports) this.#byKey.set(`${p.venue}\u0000${p.account}`, p);
  }

  port(venue: string, account: string): VenuePort {
    const p = this.#byKey.get(`${venue}\u0000${account}`);
    if (p) return p;
    if (!this.venues().includes(venue)) {
      throw new ValidationError(
        'venue',
        `unknown venue ${JSON.stringify(venue)} (configured: ${this.venues().join(', ')})`,
      );
    }
    throw new ValidationError('account', `unknown account ${JSON.stringify(account)} on venue ${venue}`);
  }

  marketPort(venue: string): VenuePort {
    const p = this.#ports.find((x) => x.venue === venue);
    if (!p)
      throw new ValidationError(
        'venue',
        `unknown venue ${JSON.stringify(venue)} (configured: ${this.venues().join(', ')})`,
      );
    return p;
  }

  has(venue: string, account?: string): boolean {
    return account === undefined
      ? this.#ports.some((p) => p.venue === venue)
      : this.#byKey.has(`${venue}\u0000${account}`);
  }

  all(): VenuePort[] {
    return [...this.#ports];
  }

  venues(): string[] {
    return [...new Set(this.#ports.map((p) => p.venue))];
  }

  async close(): Promise<void> {
    await Promise.all(this.#ports.map((p) => p.close()));
  }
}
