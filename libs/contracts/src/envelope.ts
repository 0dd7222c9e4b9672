/**
 * The event envelope: building, encoding and decoding `perpmesh.v1.Envelope`, and
 * the per-payload facts (its `type` string and its subject) in one table.
 *
 * Time is passed in (`tsEventMs`, `tsInitMs`); nothing here reads a clock. Ids are
 * UUIDv7 stamped with `tsInitMs`, monotonic within the process even when two events
 * share a millisecond or the passed-in clock steps back.
 */
import { createHash, randomInt } from 'node:crypto';
import { type EpochMs, ValidationError } from '@perpmesh/core';
import { v7 as uuidv7 } from 'uuid';
import { Envelope } from './gen/perpmesh/v1/envelope.js';
import { subjects as defaultSubjects, type Subjects } from './subjects.js';

export type EnvelopePayload = NonNullable<Envelope['payload']>;
/** The oneof case of a payload: `orderBook`, `fill`, `strategyDecision`... */
export type PayloadCase = EnvelopePayload['$case'];
/** The message of one payload case, e.g. `PayloadOf<'fill'>` is `Fill`. */
export type PayloadOf<C extends PayloadCase> = Extract<EnvelopePayload, { $case: C }>['value'];

interface PayloadFacts<C extends PayloadCase> {
  /** The envelope `type`: the payload's fully qualified proto message name. */
  readonly type: string;
  /** Its subject; `at` names the payload in validation errors (`payload.fill.`). */
  readonly subject: (value: PayloadOf<C>, subjects: Subjects, at: string) => string;
}

/** Per payload case: its `type` and its subject. Adding a payload to the proto oneof breaks the build here. */
const PAYLOADS: { readonly [C in PayloadCase]: PayloadFacts<C> } = {
  orderBook: {
    type: 'perpmesh.v1.OrderBook',
    subject: (p, s, at) => s.subject('mdBook', { venue: p.venue, instrument: p.instrument }, at),
  },
  publicTrade: {
    type: 'perpmesh.v1.PublicTrade',
    subject: (p, s, at) => s.subject('mdTrade', { venue: p.venue, instrument: p.instrument }, at),
  },
  fundingRate: {
    type: 'perpmesh.v1.FundingRate',
    subject: (p, s, at) => s.subject('mdFunding', { venue: p.venue, instrument: p.instrument }, at),
  },
  venueStatus: {
    type: 'perpmesh.v1.VenueStatus',
    subject: (p, s, at) => s.subject('mdStatus', { venue: p.venue }, at),
  },
  orderEvent: {
    type: 'perpmesh.v1.OrderEvent',
    subject: (p, s, at) => {
      if (!p.order) throw new ValidationError(`${at}order`, 'is required');
      return s.subject('execOrder', { venue: p.order.venue, account: p.order.account }, `${at}order.`);
    },
  },
  fill: {
    type: 'perpmesh.v1.Fill',
    subject: (p, s, at) => s.subject('execFill', { venue: p.venue, account: p.account }, at),
  },
  balance: {
    type: 'perpmesh.v1.Balance',
    subject: (p, s, at) => s.subject('acctBalance', { venue: p.venue, account: p.account }, at),
  },
  position: {
    type: 'perpmesh.v1.Position',
    subject: (p, s, at) =>
      s.subject('acctPosition', { venue: p.venue, account: p.account, instrument: p.instrument }, at),
  },
  fundingPayment: {
    type: 'perpmesh.v1.FundingPayment',
    subject: (p, s, at) =>
      s.subject('acctFunding', { venue: p.venue, account: p.account, instrument: p.instrument }, at),
  },
  accountDrift: {
    type: 'perpmesh.v1.AccountDrift',
    subject: (p, s, at) => s.subject('acctDrift', { venue: p.venue, account: p.account }, at),
  },
  strategyDecision: {
    type: 'perpmesh.v1.StrategyDecision',
    subject: (p, s, at) => s.subject('strat', { strategy: p.strategyId, kind: p.kind }, at),
  },
};

export const PAYLOAD_CASES = Object.keys(PAYLOADS) as PayloadCase[];

/** The envelope `type` of a payload case, e.g. `fill` → `perpmesh.v1.Fill`. */
export function envelopeTypeOf(payloadCase: PayloadCase): string {
  return PAYLOADS[payloadCase].type;
}

/**
 * Hands out UUIDv7 ids stamped with the time it is given. Within one millisecond (or
 * when the given time steps back) it counts up the 32-bit sequence field instead, as
 * RFC 9562 §6.2 method 1 does, so ids sort in the order they were made.
 */
export class EnvelopeIdGenerator {
  private lastMs = -1;
  private seq = 0;

  next(nowMs: EpochMs): string {
    if (!Number.isSafeInteger(nowMs) || nowMs < 0) {
      throw new ValidationError('nowMs', `must be ms since epoch, got ${JSON.stringify(nowMs)}`);
    }
    if (nowMs > this.lastMs) {
      this.lastMs = nowMs;
      // 31 random bits: unguessable start, and room to count up within the millisecond.
      this.seq = randomInt(0, 2 ** 31);
    } else {
      this.seq = (this.seq + 1) >>> 0;
      if (this.seq === 0) this.lastMs += 1; // 2^32 ids in one ms: borrow the next ms
    }
    return uuidv7({ msecs: this.lastMs, seq: this.seq });
  }
}

const defaultIds = new EnvelopeIdGenerator();

/**
 * A UUIDv7 whose time field is `tsMs` and whose other bits are a hash of `factKey`: the same
 * fact (e.g. `fill|paper|main|trade-123`) always gets the same id. Publishers that may
 * report one fact more than once — two execution replicas seeing the same fill on the
 * user stream, a restart re-deriving an event — use it so the log's dedupe (Nats-Msg-Id)
 * stores the fact once.
 */
export function factEventId(tsMs: EpochMs, factKey: string): string {
  assertEpochMs(tsMs, 'tsMs');
  if (!factKey) throw new ValidationError('factKey', 'is required');
  const random = new Uint8Array(createHash('sha256').update(factKey).digest().subarray(0, 16));
  return uuidv7({ msecs: tsMs, random });
}

export interface NewEnvelopeInput {
  /** Who produces the event: service and instance, e.g. `market-data/0`. */
  source: string;
  /** When it happened at the venue (or at us, for our own events). */
  tsEventMs: EpochMs;
  /** When this process received or made it; also stamps the id. */
  tsInitMs: EpochMs;
  correlationId?: string | undefined;
  causationId?: string | undefined;
  /** Use this id instead of a fresh one (see `factEventId`). */
  id?: string | undefined;
  payload: EnvelopePayload;
}

/** A new envelope with a fresh UUIDv7 id; `type` comes from the payload case. */
export function newEnvelope(input: NewEnvelopeInput, ids: EnvelopeIdGenerator = defaultIds): Envelope {
  assertEpochMs(input.tsEventMs, 'tsEventMs');
  assertEpochMs(input.tsInitMs, 'tsInitMs');
  const payloadCase = input.payload?.$case;
  if (!payloadCase || !(payloadCase in PAYLOADS)) {
    throw new ValidationError('payload', `unknown payload case ${JSON.stringify(payloadCase)}`);
  }
  const envelope: Envelope = {
    id: input.id ?? ids.next(input.tsInitMs),
    type: PAYLOADS[payloadCase].type,
    source: input.source,
    tsEvent: input.tsEventMs,
    tsInit: input.tsInitMs,
    correlationId: input.correlationId ?? '',
    causationId: input.causationId ?? '',
    payload: input.payload,
  };
  validateEnvelope(envelope);
  return envelope;
}

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

function assertEpochMs(value: unknown, field: string): void {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
    throw new ValidationError(
      field,
      `must be a positive whole number of ms since epoch, got ${String(value)}`,
    );
  }
}

/**
 * Checks what every consumer relies on: a UUIDv7 id, a producer, both times, a known
 * payload whose `type` matches it. Errors name the field as `envelope.<field>`.
 */
export function validateEnvelope(envelope: Envelope): void {
  if (!UUID_V7.test(envelope.id)) {
    throw new ValidationError(
      'envelope.id',
      `must be lowercase UUIDv7 text, got ${JSON.stringify(envelope.id)}`,
    );
  }
  if (envelope.source.length === 0) throw new ValidationError('envelope.source', 'is required');
  assertEpochMs(envelope.tsEvent, 'envelope.tsEvent');
  assertEpochMs(envelope.tsInit, 'envelope.tsInit');
  const payload = envelope.payload;
  if (!payload) {
    // Also what an older reader sees for a payload case it does not know yet.
    throw new ValidationError(
      'envelope.payload',
      `is missing or of an unknown kind (type ${JSON.stringify(envelope.type)})`,
    );
  }
  const expected = PAYLOADS[payload.$case]?.type;
  if (expected === undefined) {
    throw new ValidationError('envelope.payload', `unknown payload case ${JSON.stringify(payload.$case)}`);
  }
  if (envelope.type !== expected) {
    throw new ValidationError(
      'envelope.type',
      `must be ${JSON.stringify(expected)} for a ${payload.$case} payload, got ${JSON.stringify(envelope.type)}`,
    );
  }
}

/** Protobuf bytes of a valid envelope (the NATS message body). */
export function encodeEnvelope(envelope: Envelope): Uint8Array {
  validateEnvelope(envelope);
  return Envelope.encode(envelope).finish();
}

/** Decodes and validates a NATS message body; bad bytes or fields give a ValidationError. */
export function decodeEnvelope(bytes: Uint8Array): Envelope {
  let envelope: Envelope;
  try {
    envelope = Envelope.decode(bytes);
  } catch (err) {
    throw new ValidationError('envelope', `not a perpmesh.v1.Envelope: ${(err as Error).message}`, {
      cause: err,
    });
  }
  validateEnvelope(envelope);
  return envelope;
}

/** The NATS subject an envelope is published on, derived from its payload. */
export function subjectFor(envelope: Envelope, subjects: Subjects = defaultSubjects): string {
  const payload = envelope.payload;
  if (!payload) throw new ValidationError('envelope.payload', 'is required');
  const facts = PAYLOADS[payload.$case] as PayloadFacts<PayloadCase> | undefined;
  if (!facts)
    throw new ValidationError('envelope.payload', `unknown payload case ${JSON.stringify(payload.$case)}`);
  return facts.subject(payload.value as never, subjects, `envelope.payload.${payload.$case}.`);
}
