/**
 * How services find the venue ports they need: one port per configured (venue, account),
 * and one per venue for public market data. Built once at start from config by the venue
 * kinds (factories.ts; libs/app `openVenueDirectory`), so services never care which kind.
 * A directory opened with public access has market ports only.
 */
import { ValidationError } from '@perpmesh/core';
import type { VenueAccess } from './factories.js';
import type { VenuePort } from './port.js';

export interface VenueDirectory {
  /** The port trading as `account` on `venue`; a ValidationError naming the field when unknown. */
  port(venue: string, account: string): VenuePort;
  /** A port for public market data on `venue`. */
  marketPort(venue: string): VenuePort;
  has(venue: string, account?: string): boolean;
  /** Every (venue, account) port, in configuration order (none with public access). */
  all(): VenuePort[];
  venues(): string[];
  close(): Promise<void>;
}

export interface StaticVenueDirectoryOptions {
  /** Ports for public market data, one per venue; a venue without one uses its first account port. */
  marketPorts?: readonly VenuePort[];
  /** `public`: a market-data-only directory; `port()` refuses. Default `trading`. */
  access?: VenueAccess;
}

export class StaticVenueDirectory implements VenueDirectory {
  readonly access: VenueAccess;
  readonly #ports: VenuePort[];
  readonly #byKey = new Map<string, VenuePort>();
  readonly #marketPorts = new Map<string, VenuePort>();

  constructor(ports: VenuePort[], options: StaticVenueDirectoryOptions = {}) {
    this.access = options.access ?? 'trading';
    this.#ports = [...ports];
    for (const p of ports) this.#byKey.set(`${p.venue}\u0000${p.account}`, p);
    for (const p of options.marketPorts ?? []) this.#marketPorts.set(p.venue, p);
  }

  port(venue: string, account: string): VenuePort {
    if (this.access === 'public') {
      throw new ValidationError(
        'account',
        `no account ports here: venues were opened with public access (market data only, no credentials); ` +
          `${JSON.stringify(account)} on ${venue} trades through the execution service`,
      );
    }
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
    const p = this.#marketPorts.get(venue) ?? this.#ports.find((x) => x.venue === venue);
    if (!p)
      throw new ValidationError(
        'venue',
        `unknown venue ${JSON.stringify(venue)} (configured: ${this.venues().join(', ')})`,
      );
    return p;
  }

  has(venue: string, account?: string): boolean {
    return account === undefined
      ? this.#marketPorts.has(venue) || this.#ports.some((p) => p.venue === venue)
      : this.#byKey.has(`${venue}\u0000${account}`);
  }

  all(): VenuePort[] {
    return [...this.#ports];
  }

  venues(): string[] {
    return [...new Set([...this.#ports.map((p) => p.venue), ...this.#marketPorts.keys()])];
  }

  async close(): Promise<void> {
    await Promise.all([...new Set([...this.#ports, ...this.#marketPorts.values()])].map((p) => p.close()));
  }
}
