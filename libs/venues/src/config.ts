/**
 * The `venues` section of perpmesh.yaml: which venues, which of our accounts on each, and
 * which instruments we follow there. Every service reads the same section; the paper
 * venue's own settings (fees, funding interval, nonce rules, deposits) live under
 * `paper`, used by whoever hosts the simulated exchange (the embedded runner, or the
 * paper-venue service).
 *
 * `venues.<id>` is a union discriminated by `kind`: the common fields (`instruments`,
 * `accounts.<name>.apiKeyId`) are here, and each kind declares its own fields in its
 * adapter folder (`<kind>/config.ts`, built with `venueKindSchema`) and registers them
 * (factories.ts). Credentials are `{ env }` / `{ file }` references (credentials.ts),
 * resolved only by a process that opens the venue for trading.
 *
 *   venues:
 *     paper-lighter:
 *       kind: paper
 *       instruments: [BTC-USDC-PERP, ETH-USDC-PERP]
 *       accounts:
 *         main: { paperDeposit: "100000" }
 *     okx:
 *       kind: okx
 *       instruments: [BTC-USDT-PERP]
 *       accounts:
 *         main: { apiKey: { env: OKX_API_KEY }, secret: { env: OKX_SECRET }, passphrase: { env: OKX_PASSPHRASE } }
 */
import { parseInstrumentId, parseVenueId } from '@perpmesh/core';
import { durationMs } from '@perpmesh/runtime';
import { z } from 'zod';
import { loopbackPort } from './emulated-venues.js';
import { registeredVenueKinds, venueKind } from './factories.js';

export const instrumentIdSchema = z.string().superRefine((value, ctx) => {
  try {
    parseInstrumentId(value, 'instrument');
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
  }
});

const accountIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,64}$/, { error: 'expected 1-64 letters, digits, "_" or "-"' });

/** Fields every account of every kind has. */
export const venueAccountCommonShape = {
  /** Non-secret id of the API key (Lighter's api key index); the nonce counter key. Default "default". */
  apiKeyId: z.string().min(1).default('default'),
};

/** Where a real venue's API is, for a testnet or a local emulator. Default: the venue's production URLs. */
export const venueEndpointShape = {
  /** Use the venue's testnet (its own URLs, chain ids and signing domains). */
  testnet: z.boolean().default(false),
  /** REST base URL override (a local emulator: `http://127.0.0.1:4100`). */
  baseUrl: z.url({ protocol: /^https?$/ }).optional(),
  /** Websocket base URL override (`ws://127.0.0.1:4100/ws`). */
  wsUrl: z.url({ protocol: /^wss?$/ }).optional(),
  /**
   * `baseUrl` is a local emulator (simulated money): status, the dashboard and the logs say
   * EMULATED. Only on a loopback `baseUrl` (emulated-venues.ts).
   */
  emulated: z.boolean().default(false),
};

/** The fields every `venues.<id>` has, whatever its kind. */
export interface VenueSectionBase {
  kind: string;
  /** Instruments followed on this venue (`BTC-USDC-PERP`). */
  instruments: string[];
  accounts: Record<string, { apiKeyId: string }>;
}

/**
 * The schema of `venues.<id>` for one kind: the common fields plus the kind's own venue
 * fields and account fields. Strict: an unknown key is an error naming its path.
 */
export function venueKindSchema<
  K extends string,
  V extends z.ZodRawShape = Record<never, never>,
  A extends z.ZodRawShape = Record<never, never>,
>(kind: K, fields: { venue?: V; account?: A } = {}) {
  const account = z.strictObject({ ...venueAccountCommonShape, ...((fields.account ?? {}) as A) });
  return z.strictObject({
    kind: z.literal(kind),
    instruments: z.array(instrumentIdSchema).min(1),
    accounts: z.record(accountIdSchema, account).default({}),
    ...((fields.venue ?? {}) as V),
  });
}

/**
 * The common fields as the config loader's override walker sees them (it cannot look
 * through the dispatch on `kind`): so `PERPMESH__VENUES__X__ACCOUNTS__MAIN__API_KEY_ID=4`
 * stays the text "4". Parsing through it changes nothing; the kind's schema validates.
 */
const commonFieldsForOverrides = z.looseObject({
  kind: z.string().optional(),
  accounts: z.record(z.string(), z.looseObject({ apiKeyId: z.string().optional() })).optional(),
});

/**
 * One `venues.<id>`: parsed by the schema of the kind it names, looked up in the registry
 * at parse time (so a kind registered by a test is known too).
 */
export const venueSchema = commonFieldsForOverrides.transform((input, ctx): VenueSection => {
  const kind = input.kind;
  const definition = kind === undefined ? undefined : venueKind(kind);
  if (!definition) {
    ctx.issues.push({
      code: 'custom',
      path: ['kind'],
      message: `expected one of ${registeredVenueKinds().join(', ')}`,
      input: kind,
    });
    return z.NEVER;
  }
  const result = definition.configSchema.safeParse(input);
  if (!result.success) {
    for (const issue of result.error.issues) {
      if (issue.code !== 'unrecognized_keys') {
        ctx.issues.push({ ...issue, input: undefined });
        continue;
      }
      // Said here, per key, with the keys this kind allows at that place (the config
      // loader cannot see through the dispatch on `kind`).
      const allowed = objectKeysAt(definition.configSchema, issue.path);
      for (const key of issue.keys) {
        ctx.issues.push({
          code: 'custom',
          path: [...issue.path, key],
          message: `unknown key for kind ${definition.kind}${allowed ? ` (allowed here: ${allowed.join(', ')})` : ''}`,
          input: undefined,
        });
      }
    }
    return z.NEVER;
  }
  const data = result.data as VenueSection;
  if (data.emulated === true && loopbackPort(data.baseUrl) === undefined) {
    ctx.issues.push({
      code: 'custom',
      path: ['emulated'],
      message:
        'needs a loopback baseUrl (127.0.0.1, localhost, [::1]): an emulator on another host is not ours to vouch for',
      input: undefined,
    });
    return z.NEVER;
  }
  return data;
});

/** The keys of the object schema at `path` (through records, defaults and pipes), if any. */
function objectKeysAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] | undefined {
  type Def = {
    type: string;
    innerType?: z.ZodType;
    in?: z.ZodType;
    shape?: Record<string, z.ZodType>;
    valueType?: z.ZodType;
  };
  const defOf = (s: z.ZodType) => (s as unknown as { _zod: { def: Def } })._zod.def;
  const unwrap = (s: z.ZodType): z.ZodType => {
    let current = s;
    for (let depth = 0; depth < 16; depth++) {
      const def = defOf(current);
      const next = def.innerType ?? (def.type === 'pipe' ? def.in : undefined);
      if (!next) break;
      current = next;
    }
    return current;
  };
  let node: z.ZodType | undefined = unwrap(schema);
  for (const key of path) {
    const def = defOf(node);
    node =
      def.type === 'object' ? def.shape?.[String(key)] : def.type === 'record' ? def.valueType : undefined;
    if (!node) return undefined;
    node = unwrap(node);
  }
  const def = defOf(node);
  return def.type === 'object' && def.shape ? Object.keys(def.shape) : undefined;
}

export const venuesSectionSchema = z
  .record(z.string(), venueSchema)
  .superRefine((venues, ctx) => {
    for (const id of Object.keys(venues)) {
      try {
        parseVenueId(id, 'venue');
      } catch (err) {
        ctx.addIssue({ code: 'custom', path: [id], message: (err as Error).message });
      }
    }
  })
  .default({});

/** The simulated exchange: in process (embedded) or the paper-venue service (distributed). */
export const paperSectionSchema = z
  .strictObject({
    seed: z.int().default(42),
    /** How often the synthetic market moves. */
    stepInterval: durationMs.default(250),
    /** Where distributed services reach the paper-venue service. */
    address: z.string().min(1).default('127.0.0.1:50054'),
    /**
     * Closed orders each paper venue keeps for FetchOrder (default the preset's, 10,000;
     * `paperVenue.venueRules.<id>.closedOrderRetention` wins for one venue). Most are the
     * simulated market maker's requotes (~10-18 a second per venue), which nobody asks for.
     */
    closedOrderRetention: z.int().min(0).max(10_000_000).optional(),
    /**
     * Fills each paper account keeps for FetchFills (default 10,000; the paper-venue
     * service's `paperVenue.fillHistoryLimit` wins there). Execution asks for the fills
     * since an order's creation (a catch-up) and, at reconciliation, the last day's; an
     * in-process venue starts empty with the process, so a day's history is never asked of it.
     */
    fillHistoryLimit: z.int().min(0).max(1_000_000).optional(),
  })
  .prefault({});

/** One `venues.<id>` as parsed: the common fields, plus whatever its kind declares. */
export type VenueSection = VenueSectionBase & { readonly [field: string]: unknown };
export type VenuesSection = Record<string, VenueSection>;
export type PaperSection = z.output<typeof paperSectionSchema>;

/** The config pieces a service adds to its schema: `{ ...venueConfigShape }`. */
export const venueConfigShape = { venues: venuesSectionSchema, paper: paperSectionSchema };

export interface VenueAccountRef {
  venue: string;
  account: string;
  apiKeyId: string;
}

/** Every (venue, account) configured, in config order. */
export function configuredAccounts(venues: VenuesSection): VenueAccountRef[] {
  return Object.entries(venues).flatMap(([venue, v]) =>
    Object.entries(v.accounts).map(([account, a]) => ({ venue, account, apiKeyId: a.apiKeyId })),
  );
}
