import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  currentProcessIdentity,
  formatLeaseHolder,
  judgeLeaseHolder,
  leaseHolderProvablyDead,
  type ProcessIdentity,
  type ProcessProbe,
  parseLeaseHolderIdentity,
  parseProcStat,
  processLeaseHolder,
} from './process-identity.js';

const self: ProcessIdentity = {
  host: 'box-1',
  pid: 4242,
  startTicks: '900',
  bootId: 'b00t',
  pidNamespace: '4026531836',
};
const dead: ProcessIdentity = { ...self, pid: 1234, startTicks: '500' };

/** A host whose processes are given as pid → start ticks (undefined: running, start unknown). */
function host(processes: Record<number, string | undefined>): ProcessProbe {
  return {
    inspect: (pid) => (pid in processes ? { startTicks: processes[pid] } : undefined),
  };
}

describe('lease holder identity', () => {
  it('round-trips through the holder text, unknown parts included', () => {
    const holder = formatLeaseHolder('strategy/main abc123', self);
    assert.equal(holder, 'strategy/main abc123 (host box-1 pid 4242 start 900 boot b00t pidns 4026531836)');
    assert.deepEqual(parseLeaseHolderIdentity(holder), self);
    const partial = { ...self, startTicks: '', bootId: '', pidNamespace: '' };
    assert.deepEqual(parseLeaseHolderIdentity(formatLeaseHolder('x', partial)), partial);
    assert.ok(!processLeaseHolder('account/main').includes('|'));
  });

  it('finds no identity in a holder made otherwise', () => {
    assert.equal(parseLeaseHolderIdentity('strategy/main/4242/abc'), undefined);
    assert.deepEqual(leaseHolderProvablyDead('test-1'), {
      dead: false,
      reason: 'the holder names no process identity',
    });
  });

  it('reads state and start time from /proc/<pid>/stat, even with spaces and parens in the name', () => {
    const fields = Array.from({ length: 50 }, (_, i) => String(i + 3));
    fields[0] = 'S';
    fields[19] = '77123';
    assert.deepEqual(parseProcStat(`99 (node (a) b) ${fields.join(' ')}`), {
      state: 'S',
      startTicks: '77123',
    });
    assert.equal(parseProcStat('garbage'), undefined);
  });

  it('this process is alive to itself', () => {
    assert.equal(leaseHolderProvablyDead(processLeaseHolder('me')).dead, false);
    assert.equal(currentProcessIdentity().pid, process.pid);
  });
});

describe('judgeLeaseHolder: take over at once only when the holder is provably dead', () => {
  it('dead: its pid is not running on this host', () => {
    const verdict = judgeLeaseHolder(dead, self, host({ 4242: '900' }));
    assert.deepEqual(verdict, { dead: true, reason: 'process 1234 is not running' });
  });

  it('dead: its pid runs another process now (reused, e.g. by the restarted process itself)', () => {
    assert.equal(judgeLeaseHolder(dead, self, host({ 1234: '700' })).dead, true);
    const samePid = { ...self, startTicks: '100' };
    const verdict = judgeLeaseHolder(samePid, self, host({ 4242: '900' }));
    assert.equal(verdict.dead, true);
    assert.match(verdict.reason, /pid 4242 is another process now/);
  });

  it('alive: the same pid with the same start time is running (another instance, or this process)', () => {
    assert.deepEqual(judgeLeaseHolder(dead, self, host({ 1234: '500' })), {
      dead: false,
      reason: 'process 1234 is running',
    });
    assert.equal(judgeLeaseHolder(self, self, host({ 4242: '900' })).dead, false);
  });

  it('unproven: running, but the start time is unknown on either side', () => {
    assert.equal(judgeLeaseHolder(dead, self, host({ 1234: undefined })).dead, false);
    assert.equal(judgeLeaseHolder({ ...dead, startTicks: '' }, self, host({ 1234: '500' })).dead, false);
  });

  it('unproven: another host, another boot, another pid namespace, or unknown ones', () => {
    const nothingRuns = host({});
    for (const [other, why] of [
      [{ ...dead, host: 'box-2' }, /another host/],
      [{ ...dead, bootId: 'other' }, /this boot/],
      [{ ...dead, bootId: '' }, /this boot/],
      [{ ...dead, pidNamespace: '4026532000' }, /pid namespace/],
      [{ ...dead, pidNamespace: '' }, /pid namespace/],
    ] as const) {
      const verdict = judgeLeaseHolder(other, self, nothingRuns);
      assert.equal(verdict.dead, false, JSON.stringify(other));
      assert.match(verdict.reason, why);
    }
    assert.equal(judgeLeaseHolder(dead, { ...self, bootId: '' }, nothingRuns).dead, false);
  });
});
