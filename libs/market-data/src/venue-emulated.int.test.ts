/**
 * GetVenueStatus says `emulated` for a venue whose config flags it (`venues.<id>.emulated`
 * on a loopback baseUrl), with nothing else told: what a distributed market-data process
 * reports for venues run by a standalone emulator runner.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { INSTRUMENTS, marketDataHarness } from './market-data.test-helper.js';

test('a venue flagged emulated in its config is emulated in the venue status; the others are not', async () => {
  const h = await marketDataHarness({
    config: {
      venues: {
        paper: { instruments: INSTRUMENTS, baseUrl: 'http://127.0.0.1:4300', emulated: true },
        'paper-lighter': { instruments: INSTRUMENTS },
      } as Record<string, { instruments: string[] }>,
    },
  });
  try {
    await h.service.start();
    assert.equal(h.service.venueStatus('paper')[0]?.emulated, true);
    assert.equal(h.service.venueStatus('paper-lighter')[0]?.emulated, false);
  } finally {
    await h.close();
  }
});
