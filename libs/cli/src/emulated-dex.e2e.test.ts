/**
 * `PERPMESH_CONFIG=config/emulated-dex.yaml perpmesh start` as a real process: the Lighter
 * and Extended emulators start with the system, both venues open through our own adapters
 * and signers (every transaction signature verified by the emulators), `perpmesh status`
 * shows every component of both venues (signer, auth token, nonces, request budget,
 * dead-man switch, ...), and the funding arb ENTERS between them: both legs filled at the
 * emulators (asked through each venue's own API) and held equal in the arb book.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { credentials } from '@grpc/grpc-js';
import { type GetArbBookResponse, StrategyServiceClient } from '@perpmesh/contracts';
import { Decimal } from '@perpmesh/core';
import { EMULATED_LIGHTER_ACCOUNT, EMULATOR_CREDENTIALS } from '@perpmesh/emulators';
import { eventually, freePort, type PerpmeshProcess, startPerpmeshProcess, unary } from '@perpmesh/testing';
import { Capture, EMULATOR_CREDENTIAL_VARIABLES } from './emulated-config.test-helper.js';
import { runCli } from './main.js';

const DEX_YAML = resolve(fileURLToPath(import.meta.url), '../../../../config/emulated-dex.yaml');
const VENUES = ['lighter', 'extended'] as const;
/** What each venue's trading port reports, beyond the markets/link/balance/streams every port has. */
const OWN_COMPONENTS: Record<(typeof VENUES)[number], string[]> = {
  lighter: ['signer', 'auth token', 'nonces', 'request budget'],
  extended: ['signer', 'request budget', 'dead-man switch'],
};
const EVERY_PORT = ['markets', 'link', 'balance', 'user stream'];

interface StatusJson {
  ready: boolean;
  emulatedVenues: string[];
  venues: {
    venue: string;
    ready: boolean;
    emulated: boolean | null;
    components: { name: string; ready: boolean; reason: string | null }[];
  }[];
}

describe('perpmesh start with config/emulated-dex.yaml (real process)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'perpmesh-emulated-dex-'));
  let running: PerpmeshProcess | undefined;
  let lighterPort = 0;
  let extendedPort = 0;
  let strategyAddress = '';
  after(() => {
    if (running && running.child.exitCode === null) running.child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  test('both DEX venues open through our signers; status shows every component of both', async () => {
    [lighterPort, extendedPort] = [await freePort(), await freePort()];
    const strategyPort = await freePort();
    strategyAddress = `127.0.0.1:${strategyPort}`;
    // The shipped file on free ports, the arb's persistence shortened for the test's bound.
    const yaml = readFileSync(DEX_YAML, 'utf8')
      .replaceAll('127.0.0.1:4300', `127.0.0.1:${lighterPort}`)
      .replaceAll('127.0.0.1:4400', `127.0.0.1:${extendedPort}`)
      .replace('lighter: { port: 4300 }', `lighter: { port: ${lighterPort} }`)
      .replace('extended: { port: 4400 }', `extended: { port: ${extendedPort} }`)
      .replace('persistenceMs: 10s', 'persistenceMs: 2s');
    assert.ok(!yaml.includes(':4300') && !yaml.includes(':4400'), 'every emulator port moved');
    assert.ok(yaml.includes('persistenceMs: 2s'), 'the arb persistence was shortened');
    const config = join(dir, 'emulated-dex.yaml');
    writeFileSync(config, yaml);
    for (const name of EMULATOR_CREDENTIAL_VARIABLES) {
      assert.equal(process.env[name], undefined, `${name} is not set by the test runner`);
    }
    running = await startPerpmeshProcess({
      dataDir: join(dir, 'data'),
      env: { PERPMESH_CONFIG: config },
      settings: [`strategy.grpcPort=${strategyPort}`],
    });
    assert.match(
      running.stderr(),
      /EMULATED venues \(local emulators, simulated money\): extended, lighter\n/,
      'the ready line names the emulated venues',
    );

    const status = await eventually(
      'every component of both venues in perpmesh status',
      async () => {
        const out = new Capture();
        const err = new Capture();
        const code = await runCli(
          [
            'status',
            '--json',
            '--execution',
            running!.execution,
            '--account-service',
            running!.account,
            '--market-data',
            running!.marketData,
          ],
          { out, err, env: { ...process.env, PERPMESH_CONFIG: '' }, confirm: null },
        );
        if (code !== 0) return undefined;
        const body = JSON.parse(out.text) as StatusJson;
        const complete = VENUES.every((id) => {
          const names = body.venues.find((v) => v.venue === id)?.components.map((c) => c.name) ?? [];
          return [...EVERY_PORT, ...OWN_COMPONENTS[id]].every((c) => names.includes(`main: ${c}`));
        });
        return complete ? body : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 500 },
    );
    assert.deepEqual(status.emulatedVenues, ['extended', 'lighter']);
    for (const id of VENUES) {
      const venue = status.venues.find((v) => v.venue === id)!;
      assert.equal(venue.emulated, true, `${id} is flagged emulated`);
      const signer = venue.components.find((c) => c.name === 'main: signer')!;
      assert.equal(signer.ready, true, `${id} signer passed its self-test: ${signer.reason}`);
    }
  });

  test('the funding arb enters between emulated Lighter and Extended: both legs filled at the venues', async () => {
    assert.ok(running, 'the process runs (previous test)');
    const strategy = new StrategyServiceClient(strategyAddress, credentials.createInsecure());
    try {
      const arb = await eventually(
        'an open arb in the arb book',
        async () => {
          const book = await unary<unknown, GetArbBookResponse>(strategy.getArbBook.bind(strategy) as never, {
            strategyId: 'arb-dex',
          });
          return book.active.find((a) => a.phase === 'open');
        },
        { timeoutMs: 90_000, intervalMs: 500 },
      );
      const legs = [arb.shortLeg!, arb.longLeg!];
      assert.deepEqual(legs.map((l) => l.venue).sort(), ['extended', 'lighter']);
      const size = new Map(legs.map((l) => [l.venue, new Decimal(l.size)]));
      assert.ok(!size.get('lighter')!.isZero(), 'the legs hold a position');
      assert.ok(size.get('lighter')!.abs().eq(size.get('extended')!.abs()), 'equal size on both legs');
      // Venue truth, through each venue's own API.
      await eventually(
        'the emulators hold the legs',
        async () => {
          const [lighter, extended] = [
            await lighterPosition(lighterPort),
            await extendedPosition(extendedPort),
          ];
          return lighter.eq(size.get('lighter')!) && extended.eq(size.get('extended')!) ? true : undefined;
        },
        { timeoutMs: 10_000, intervalMs: 250 },
      );
    } finally {
      strategy.close();
    }
  });

  test('stops cleanly', async () => {
    assert.ok(running, 'the process runs');
    assert.equal(await running.stop(), 0, `clean exit; stderr:\n${running.stderr()}`);
  });
});

/** The emulated Lighter account's signed BTC position (public account endpoint). */
async function lighterPosition(port: number): Promise<Decimal> {
  const res = await fetch(
    `http://127.0.0.1:${port}/api/v1/account?by=index&value=${EMULATED_LIGHTER_ACCOUNT.accountIndex}`,
  );
  assert.equal(res.status, 200, `account: ${res.status}`);
  const body = (await res.json()) as {
    accounts: { positions: { symbol: string; sign: number; position: string }[] }[];
  };
  const p = body.accounts[0]?.positions.find((x) => x.symbol.startsWith('BTC'));
  return p === undefined ? new Decimal(0) : new Decimal(p.position).mul(p.sign);
}

/** The emulated Extended account's signed BTC position (`user/positions`, its API key). */
async function extendedPosition(port: number): Promise<Decimal> {
  const res = await fetch(`http://127.0.0.1:${port}/api/v1/user/positions`, {
    headers: { 'X-Api-Key': EMULATOR_CREDENTIALS.EXTENDED_EMULATOR_API_KEY, 'User-Agent': 'perpmesh-test' },
  });
  assert.equal(res.status, 200, `positions: ${res.status}`);
  const body = (await res.json()) as { data: { market: string; side: string; size: string }[] };
  const p = body.data.find((x) => x.market.startsWith('BTC'));
  return p === undefined ? new Decimal(0) : new Decimal(p.size).mul(p.side === 'SHORT' ? -1 : 1);
}
