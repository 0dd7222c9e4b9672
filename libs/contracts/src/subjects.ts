/**
 * Every NATS subject and JetStream stream of perpmesh, in one place.
 *
 * One table (`SUBJECTS`) says, per subject kind, its tokens and its stream. The
 * builders (`mdBookSubject`...), the consumer filters (`subjectFilter`) and the
 * streams' subject lists (`streamSpecs`) are all derived from it, so a subject can
 * not exist outside a stream.
 *
 * Isolation (tests, or two deployments on one server): a `Subjects` made with a
 * `root` token puts every subject under it (`T_ab12.md.book.okx.BTC-USDC-PERP`),
 * and `streamSpecs({ prefix, subjectRoot })` names the streams `T_ab12_MD`... and
 * gives them the rooted subjects. Streams may not overlap in subjects, so both
 * must be namespaced; `namespaceFor(name)` derives both from one name.
 */
// Token rules (no '.', '*', '>', whitespace or control characters) live in core, beside the ids.
import { assertSubjectToken, ValidationError } from '@perpmesh/core';

export const STREAM_NAMES = ['MD', 'EXEC', 'ACCT', 'STRAT', 'JOURNAL'] as const;
export type StreamName = (typeof STREAM_NAMES)[number];

/**
 * Subject kinds: literal tokens and `:param` tokens, and the stream that stores them.
 * Adding a kind here adds it to its stream's subjects.
 */
export const SUBJECTS = {
  mdBook: { stream: 'MD', tokens: ['md', 'book', ':venue', ':instrument'] },
  mdTrade: { stream: 'MD', tokens: ['md', 'trade', ':venue', ':instrument'] },
  mdFunding: { stream: 'MD', tokens: ['md', 'funding', ':venue', ':instrument'] },
  mdStatus: { stream: 'MD', tokens: ['md', 'status', ':venue'] },
  execOrder: { stream: 'EXEC', tokens: ['exec', 'order', ':venue', ':account'] },
  execFill: { stream: 'EXEC', tokens: ['exec', 'fill', ':venue', ':account'] },
  acctBalance: { stream: 'ACCT', tokens: ['acct', 'balance', ':venue', ':account'] },
  acctPosition: { stream: 'ACCT', tokens: ['acct', 'position', ':venue', ':account', ':instrument'] },
  acctFunding: { stream: 'ACCT', tokens: ['acct', 'funding', ':venue', ':account', ':instrument'] },
  acctDrift: { stream: 'ACCT', tokens: ['acct', 'drift', ':venue', ':account'] },
  strat: { stream: 'STRAT', tokens: ['strat', ':strategy', ':kind'] },
  /** The strategy input journal (libs/strategy runtime/journal.ts): what each step consumed. */
  stratJournal: { stream: 'JOURNAL', tokens: ['journal', ':strategy'] },
} as const satisfies Record<string, { stream: StreamName; tokens: readonly string[] }>;

export type SubjectKind = keyof typeof SUBJECTS;
type ParamName<T> = T extends `:${infer P}` ? P : never;
/** The `:param` tokens of a subject kind, e.g. `{ venue, instrument }` for `mdBook`. */
export type SubjectParams<K extends SubjectKind> = {
  [P in ParamName<(typeof SUBJECTS)[K]['tokens'][number]>]: string;
};

export const SUBJECT_KINDS = Object.keys(SUBJECTS) as SubjectKind[];

// Stream names end up in JetStream API subjects and in file names on the server.
const BAD_STREAM_NAME = /[.*>\s\p{Cc}/\\]/u;

function assertRoot(root: string, field: string): string {
  assertSubjectToken(root, field);
  // '$' starts the server's own subjects ($JS, $SYS, $KV...).
  if (root.startsWith('$'))
    throw new ValidationError(field, `must not start with '$', got ${JSON.stringify(root)}`);
  return root;
}

/**
 * Subject builders and consumer filters, optionally under a root token.
 * Services take one of these as a dependency; tests pass `new Subjects({ root })`.
 */
export class Subjects {
  /** The root token every subject starts with, or undefined for the production layout. */
  readonly root: string | undefined;

  constructor(options: { root?: string | undefined } = {}) {
    this.root = options.root === undefined ? undefined : assertRoot(options.root, 'root');
  }

  /**
   * The subject of one kind with every parameter given. `fieldPrefix` is put before
   * the parameter name in a validation error (e.g. `payload.fill.` → `payload.fill.venue`).
   */
  subject<K extends SubjectKind>(kind: K, params: SubjectParams<K>, fieldPrefix = ''): string {
    const values = params as Record<string, unknown>;
    return this.join(
      SUBJECTS[kind].tokens.map((token) => {
        if (!token.startsWith(':')) return token;
        const name = token.slice(1);
        return assertSubjectToken(values[name], fieldPrefix + name);
      }),
    );
  }

  /**
   * A consumer filter for one kind: given parameters are fixed, missing ones are `*`.
   * `subjectFilter('execFill', { venue: 'okx' })` → `exec.fill.okx.*`.
   */
  filter<K extends SubjectKind>(kind: K, params: Partial<SubjectParams<K>> = {}): string {
    const values = params as Record<string, unknown>;
    return this.join(
      SUBJECTS[kind].tokens.map((token) => {
        if (!token.startsWith(':')) return token;
        const name = token.slice(1);
        const value = values[name];
        return value === undefined ? '*' : assertSubjectToken(value, name);
      }),
    );
  }

  mdBook(venue: string, instrument: string): string {
    return this.subject('mdBook', { venue, instrument });
  }
  mdTrade(venue: string, instrument: string): string {
    return this.subject('mdTrade', { venue, instrument });
  }
  mdFunding(venue: string, instrument: string): string {
    return this.subject('mdFunding', { venue, instrument });
  }
  mdStatus(venue: string): string {
    return this.subject('mdStatus', { venue });
  }
  execOrder(venue: string, account: string): string {
    return this.subject('execOrder', { venue, account });
  }
  execFill(venue: string, account: string): string {
    return this.subject('execFill', { venue, account });
  }
  acctBalance(venue: string, account: string): string {
    return this.subject('acctBalance', { venue, account });
  }
  acctPosition(venue: string, account: string, instrument: string): string {
    return this.subject('acctPosition', { venue, account, instrument });
  }
  acctFunding(venue: string, account: string, instrument: string): string {
    return this.subject('acctFunding', { venue, account, instrument });
  }
  acctDrift(venue: string, account: string): string {
    return this.subject('acctDrift', { venue, account });
  }
  stratJournal(strategy: string): string {
    return this.subject('stratJournal', { strategy });
  }
  strat(strategy: string, kind: string): string {
    return this.subject('strat', { strategy, kind });
  }

  private join(tokens: readonly string[]): string {
    return this.root === undefined ? tokens.join('.') : `${this.root}.${tokens.join('.')}`;
  }
}

/** The production layout (no root token). */
export const subjects: Subjects = new Subjects();

export const mdBookSubject = (venue: string, instrument: string): string =>
  subjects.mdBook(venue, instrument);
export const mdTradeSubject = (venue: string, instrument: string): string =>
  subjects.mdTrade(venue, instrument);
export const mdFundingSubject = (venue: string, instrument: string): string =>
  subjects.mdFunding(venue, instrument);
export const mdStatusSubject = (venue: string): string => subjects.mdStatus(venue);
export const execOrderSubject = (venue: string, account: string): string =>
  subjects.execOrder(venue, account);
export const execFillSubject = (venue: string, account: string): string => subjects.execFill(venue, account);
export const acctBalanceSubject = (venue: string, account: string): string =>
  subjects.acctBalance(venue, account);
export const acctPositionSubject = (venue: string, account: string, instrument: string): string =>
  subjects.acctPosition(venue, account, instrument);
export const acctFundingSubject = (venue: string, account: string, instrument: string): string =>
  subjects.acctFunding(venue, account, instrument);
export const acctDriftSubject = (venue: string, account: string): string =>
  subjects.acctDrift(venue, account);
export const stratSubject = (strategy: string, kind: string): string => subjects.strat(strategy, kind);
export const subjectFilter = <K extends SubjectKind>(kind: K, params?: Partial<SubjectParams<K>>): string =>
  subjects.filter(kind, params);

/** A JetStream stream as plain data; `libs/bus` turns it into a server config (file storage). */
export interface StreamSpec {
  readonly name: string;
  /** Which perpmesh stream this is, whatever its (prefixed) name. */
  readonly stream: StreamName;
  readonly subjects: readonly string[];
  /** Messages older than this are dropped. */
  readonly maxAgeMs: number;
  /**
   * JetStream drops a message whose Nats-Msg-Id it has seen within this window. A
   * publisher's resend of an unacked event (same id) must happen within it.
   */
  readonly duplicateWindowMs: number;
  readonly description: string;
}

const HOUR_MS = 60 * 60 * 1000;
const DAY_MS = 24 * HOUR_MS;

/**
 * MD is bounded market data (24 h); EXEC, ACCT and STRAT are the system of record (30 d);
 * JOURNAL (strategy inputs, for replay) is diagnostics, as long as MD, whose events it
 * refers to by sequence.
 */
export const DEFAULT_MAX_AGE_MS: Readonly<Record<StreamName, number>> = {
  MD: DAY_MS,
  EXEC: 30 * DAY_MS,
  ACCT: 30 * DAY_MS,
  STRAT: 30 * DAY_MS,
  JOURNAL: DAY_MS,
};

/**
 * JetStream's own default (2 min) for high-volume market data, whose loss or duplicate
 * is harmless; longer for the system of record, so a publisher that restarts and
 * resends unacked events within 10 min does not store them twice. The server keeps
 * the ids of the window in memory, which bounds how long this can reasonably be.
 */
export const DEFAULT_DUPLICATE_WINDOW_MS: Readonly<Record<StreamName, number>> = {
  MD: 2 * 60 * 1000,
  EXEC: 10 * 60 * 1000,
  ACCT: 10 * 60 * 1000,
  STRAT: 10 * 60 * 1000,
  JOURNAL: 10 * 60 * 1000,
};

const DESCRIPTIONS: Readonly<Record<StreamName, string>> = {
  MD: 'perpmesh market data: books, trades, funding rates, venue status',
  EXEC: 'perpmesh order lifecycle events and fills',
  ACCT: 'perpmesh balances, positions, funding payments, drift',
  STRAT: 'perpmesh strategy decisions and signals',
  JOURNAL: 'perpmesh strategy input journals (replay)',
};

export interface StreamSpecOptions {
  /** Put before every stream name, e.g. `T_ab12_` → `T_ab12_MD`. */
  prefix?: string;
  /** Root token of every subject (see `Subjects`). */
  subjectRoot?: string;
  maxAgeMs?: Partial<Record<StreamName, number>>;
  duplicateWindowMs?: Partial<Record<StreamName, number>>;
}

function positiveMs(value: number, field: string): number {
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new ValidationError(field, `must be a positive whole number of ms, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** The streams, with subjects derived from `SUBJECTS`. */
export function streamSpecs(options: StreamSpecOptions = {}): StreamSpec[] {
  const prefix = options.prefix ?? '';
  if (BAD_STREAM_NAME.test(prefix)) {
    throw new ValidationError(
      'prefix',
      `must not contain '.', '*', '>', '/', '\\', whitespace or control characters, got ${JSON.stringify(prefix)}`,
    );
  }
  if (options.subjectRoot !== undefined) assertRoot(options.subjectRoot, 'subjectRoot');
  const space = new Subjects({ root: options.subjectRoot });
  return STREAM_NAMES.map((stream) => {
    const window = positiveMs(
      options.duplicateWindowMs?.[stream] ?? DEFAULT_DUPLICATE_WINDOW_MS[stream],
      `duplicateWindowMs.${stream}`,
    );
    const maxAgeMs = positiveMs(
      options.maxAgeMs?.[stream] ?? DEFAULT_MAX_AGE_MS[stream],
      `maxAgeMs.${stream}`,
    );
    return {
      name: prefix + stream,
      stream,
      subjects: SUBJECT_KINDS.filter((kind) => SUBJECTS[kind].stream === stream).map((kind) =>
        space.filter(kind),
      ),
      maxAgeMs,
      // JetStream rejects a duplicate window longer than the max age.
      duplicateWindowMs: Math.min(window, maxAgeMs),
      description: DESCRIPTIONS[stream],
    };
  });
}

/** The spec of the stream that stores a subject kind. */
export function streamSpecFor(kind: SubjectKind, options: StreamSpecOptions = {}): StreamSpec {
  const spec = streamSpecs(options).find((s) => s.stream === SUBJECTS[kind].stream);
  if (!spec) throw new Error(`no stream for subject kind ${kind}`); // unreachable: every kind names a stream
  return spec;
}

/** An isolated namespace (stream prefix + subject root) from one name, e.g. a test's unique name. */
export interface Namespace {
  readonly prefix: string;
  readonly subjectRoot: string;
}

/**
 * `namespaceFor('t-3f9a')` → `{ prefix: 't_3f9a_', subjectRoot: 't_3f9a' }`: characters
 * other than letters, digits and `_` become `_`, so any unique test name works.
 */
export function namespaceFor(name: string): Namespace {
  if (typeof name !== 'string' || name.length === 0) {
    throw new ValidationError('name', `must be a non-empty string, got ${JSON.stringify(name)}`);
  }
  const subjectRoot = name.replace(/[^A-Za-z0-9_]/g, '_');
  return { prefix: `${subjectRoot}_`, subjectRoot };
}
