/**
 * per_account ownership behind one Service: a read naming an account another replica owns is
 * forwarded to the holder of its `account-owner` lease (the stored holder, not the hash), the
 * way market data forwards a pair (@perpmesh/runtime PeerClients, @perpmesh/state
 * ReplicaAddresses).
 *
 * - Each replica registers its gRPC address under its holder name (`account-address:<consumerName>`).
 * - A forwarded call carries `perpmesh-account-forwarded`: its receiver answers from its own
 *   accounts only (NOT_FOUND naming the stored holder otherwise), so a call travels one hop.
 * - The forwarded call keeps the caller's deadline (bounded by `forwardTimeout`), carries the
 *   services' `auth.token` (the token every caller presents) and uses TLS when the `tls`
 *   section configures it for clients.
 */
import type { Metadata } from '@grpc/grpc-js';
import { AccountServiceClient } from '@perpmesh/contracts';
import {
  deadlineEpochMs,
  hasForwardedMarker,
  PeerRouter,
  type PeerUnary,
  type ReplicaForwarding,
} from '@perpmesh/runtime';
import type { ReplicaAddresses } from '@perpmesh/state';

export const ACCOUNT_ADDRESS_SCOPE = 'account-address';
/** Metadata key marking a call one account replica forwarded to another (never forwarded again). */
export const ACCOUNT_FORWARDED_METADATA = 'perpmesh-account-forwarded';
export const DEFAULT_ACCOUNT_FORWARD_TIMEOUT_MS = 2_000;

/** How this replica is reached and reaches the others (per_account ownership with a lease). */
export type AccountForwarding = ReplicaForwarding;

export function isForwardedAccountCall(metadata: Metadata | undefined): boolean {
  return hasForwardedMarker(metadata, ACCOUNT_FORWARDED_METADATA);
}

export interface AccountRouterOptions extends AccountForwarding {
  readonly addresses: ReplicaAddresses;
  /** The live members now (clients of others are closed). */
  readonly liveMembers: () => readonly string[];
}

export class AccountRouter {
  readonly #router: PeerRouter<AccountServiceClient>;

  constructor(options: AccountRouterOptions) {
    this.#router = new PeerRouter({
      clientClass: AccountServiceClient,
      liveMembers: options.liveMembers,
      authToken: options.authToken,
      channelCredentials: options.channelCredentials,
      addressOf: (holder) => options.addresses.addressOf(holder),
      forwardedKey: ACCOUNT_FORWARDED_METADATA,
      peerName: 'account replica',
      timeoutMs: options.timeoutMs ?? DEFAULT_ACCOUNT_FORWARD_TIMEOUT_MS,
    });
  }

  /** `method` of the replica `holder` with `request`, by `callerDeadline` (ms, Infinity: none) at the latest. */
  ask<Req, Res>(
    holder: string,
    method: (c: AccountServiceClient) => PeerUnary<Req, Res>,
    request: Req,
    callerDeadlineMs: number,
  ): Promise<Res> {
    return this.#router.ask(holder, method, request, callerDeadlineMs);
  }

  close(): void {
    this.#router.close();
  }
}

/** A gRPC deadline (Date or ms; Infinity: none) as epoch ms (@perpmesh/runtime `deadlineEpochMs`). */
export const deadlineMs = deadlineEpochMs;
