/**
 * `PERPMESH_CONFIG=config/emulated.yaml perpmesh start` as a real process: its `emulators`
 * section starts the local venue emulators in process, and the emulated Binance USD-M and
 * Hyperliquid venues become ready through the real ccxt code path, with no credential in
 * the config or the test's environment. Every component of their venue ports (markets,
 * link, balance, streams, request budget) reaches `/readyz`, `perpmesh status --json` and
 * the gateway's venue view, each venue flagged emulated, and the ready line names them.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, describe, test } from 'node:test';
import { eventually, type PerpmeshProcess, startPerpmeshProcess } from '@perpmesh/testing';
import { EMULATOR_CREDENTIAL_VARIABLES, writeEmulatedConfig } from './emulated-config.test-helper.js';
import { runCli } from './main.js';

interface VenuesView {
  venues: {
    venue: string;
    ready: boolean;
    emulated: boolean | null;
    components: {
      service: string;
      name: string;
      ready: boolean;
      reason: string | null;
      informational: boolean;
      port?: { account: string; component: string };
    }[];
  }[];
}

interface ReadyzBody {
  ready: boolean;
  components: { name: string; ready: boolean; reason: string | null; informational?: true }[];
}

const EMULATED_VENUES = ['binanceusdm', 'hyperliquid'];
/** Every component the ccxt port of a trading account reports (its user stream once subscribed). */
const TRADING_PORT_COMPONENTS = ['markets', 'link', 'balance', 'user stream', 'request budget'];
/** The public (market-data) port's: no account, so no balance and no user stream. */
const PUBLIC_PORT_COMPONENTS = ['markets', 'link', 'market stream', 'request budget'];

class Capture extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: string, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
}

describe('perpmesh start with config/emulated.yaml (real process)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'perpmesh-emulated-'));
  let running: PerpmeshProcess | undefined;
  after(() => {
    if (running && running.child.exitCode === null) running.child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  test('starts the emulators with the system; both emulated venues report ready components', async () => {
    const config = await writeEmulatedConfig(dir);
    const env: Record<string, string> = { PERPMESH_CONFIG: config };
    // The credentials come from the emulators component, not from this environment.
    for (const name of EMULATOR_CREDENTIAL_VARIABLES) {
      assert.equal(process.env[name], undefined, `${name} is not set by the test runner`);
    }
    running = await startPerpmeshProcess({ dataDir: join(dir, 'data'), env });

    const view = await eventually(
      'both emulated venues ready',
      async () => {
        const res = await fetch(`http://127.0.0.1:${running!.httpPort}/api/venues`);
        const body = (await res.json()) as VenuesView;
        const byId = new Map(body.venues.map((v) => [v.venue, v]));
        const wanted = ['binanceusdm', 'hyperliquid'].map((id) => byId.get(id));
        return wanted.every((v) => v?.ready && v.components.length > 0) ? body : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 250 },
    );
    for (const id of ['binanceusdm', 'hyperliquid']) {
      const venue = view.venues.find((v) => v.venue === id)!;
      const names = venue.components.map((c) => `${c.service}:${c.name}`);
      for (const n of ['market-data:order_books', 'account:main/balances']) {
        assert.ok(names.includes(n), `${id} reports ${n} (has ${names.join(', ')})`);
      }
      assert.ok(
        venue.components.every((c) => c.ready),
        `${id}: every component ready`,
      );
    }
    assert.match(
      running.stderr(),
      /perpmesh is ready in .*; EMULATED venues \(local emulators, simulated money\): binanceusdm, hyperliquid\n/,
      'the ready line names the emulated venues',
    );

    // The gateway's venue view: every port component, per account, and the emulated flag.
    for (const id of EMULATED_VENUES) {
      const venue = view.venues.find((v) => v.venue === id)!;
      assert.equal(venue.emulated, true, `${id} is flagged emulated`);
      const ports = venue.components.filter((c) => c.port);
      const of = (account: string) =>
        ports.filter((c) => c.port!.account === account).map((c) => c.port!.component);
      for (const component of PUBLIC_PORT_COMPONENTS) {
        assert.ok(of('').includes(component), `${id} market-data port shows ${component} (has ${of('')})`);
      }
      // The user stream is reported once subscribed; /readyz below waits for the full list.
      for (const component of TRADING_PORT_COMPONENTS.filter((c) => c !== 'user stream')) {
        assert.ok(of('main').includes(component), `${id} main port shows ${component} (has ${of('main')})`);
      }
      const budget = ports.find((c) => c.name === 'main: request budget')!;
      assert.equal(budget.informational, true);
      assert.match(budget.reason ?? '', /requests left/);
    }

    // /readyz: every component of every port, by venue and account, with its reason.
    const readyz = await eventually(
      'every port component in /readyz',
      async () => {
        const body = (await (
          await fetch(`http://127.0.0.1:${running!.httpPort}/readyz`)
        ).json()) as ReadyzBody;
        const names = new Set(body.components.map((c) => c.name));
        const wanted = EMULATED_VENUES.flatMap((id) => [
          ...TRADING_PORT_COMPONENTS.map((c) => `venue ${id}/main: ${c}`),
          ...PUBLIC_PORT_COMPONENTS.map((c) => `venue ${id}: ${c}`),
        ]);
        return wanted.every((n) => names.has(n)) ? body : undefined;
      },
      { timeoutMs: 15_000, intervalMs: 250 },
    );
    const budget = readyz.components.find((c) => c.name === 'venue binanceusdm/main: request budget')!;
    assert.equal(budget.informational, true, 'the request budget is informational');
    assert.match(budget.reason ?? '', /binanceusdm\/main: \d+ of \d+ requests left/);
    const markets = readyz.components.find((c) => c.name === 'venue hyperliquid/main: markets')!;
    assert.deepEqual([markets.ready, markets.informational], [true, undefined]);
    assert.match(markets.reason ?? '', /BTC-USDC-PERP loaded/);

    // perpmesh status --json: the same venues, every component, the emulated flag.
    const out = new Capture();
    const err = new Capture();
    const code = await runCli(
      [
        'status',
        '--json',
        '--execution',
        running.execution,
        '--account-service',
        running.account,
        '--market-data',
        running.marketData,
      ],
      { out, err, env: { ...process.env, PERPMESH_CONFIG: '' }, confirm: null },
    );
    assert.equal(code, 0, `status exits 0; stderr: ${err.text}`);
    const status = JSON.parse(out.text) as VenuesView & { ready: boolean; emulatedVenues: string[] };
    assert.equal(status.ready, true);
    assert.deepEqual(status.emulatedVenues, EMULATED_VENUES);
    for (const id of EMULATED_VENUES) {
      const venue = status.venues.find((v) => v.venue === id)!;
      assert.equal(venue.emulated, true);
      const names = venue.components.map((c) => c.name);
      for (const component of TRADING_PORT_COMPONENTS) {
        assert.ok(
          names.includes(`main: ${component}`),
          `status shows ${id} main: ${component} (has ${names})`,
        );
      }
      for (const component of PUBLIC_PORT_COMPONENTS) {
        assert.ok(names.includes(component), `status shows ${id} ${component} (has ${names})`);
      }
    }
    // Paper venues (none here) and real ones are never flagged: only the two emulated venues are.
    assert.deepEqual(
      status.venues.filter((v) => v.emulated).map((v) => v.venue),
      EMULATED_VENUES,
    );

    assert.equal(await running.stop(), 0, `clean exit; stderr:\n${running.stderr()}`);
  });
});
