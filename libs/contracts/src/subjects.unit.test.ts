import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ValidationError } from '@perpmesh/core';
import {
  acctBalanceSubject,
  acctDriftSubject,
  acctFundingSubject,
  acctPositionSubject,
  DEFAULT_MAX_AGE_MS,
  execFillSubject,
  execOrderSubject,
  mdBookSubject,
  mdFundingSubject,
  mdStatusSubject,
  mdTradeSubject,
  namespaceFor,
  type StreamSpec,
  SUBJECT_KINDS,
  SUBJECTS,
  Subjects,
  stratSubject,
  streamSpecFor,
  streamSpecs,
  subjectFilter,
} from './subjects.js';

/** NATS subject matching: `*` is one token, `>` one or more trailing tokens. */
function matches(filter: string, subject: string): boolean {
  const f = filter.split('.');
  const s = subject.split('.');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '>') return s.length > i;
    if (i >= s.length) return false;
    if (f[i] !== '*' && f[i] !== s[i]) return false;
  }
  return f.length === s.length;
}

function streamsMatching(specs: StreamSpec[], subject: string): string[] {
  return specs.filter((spec) => spec.subjects.some((f) => matches(f, subject))).map((s) => s.name);
}

/** Calls every subject builder method of a `Subjects` (found by reflection, so a new one is covered). */
function everyBuilderOutput(space: Subjects): { method: string; subject: string }[] {
  const notBuilders = new Set(['constructor', 'subject', 'filter', 'join']);
  const out: { method: string; subject: string }[] = [];
  for (const method of Object.getOwnPropertyNames(Subjects.prototype)) {
    if (notBuilders.has(method)) continue;
    const fn = (space as unknown as Record<string, (...args: string[]) => string>)[method];
    assert.equal(typeof fn, 'function', method);
    const args = Array.from({ length: fn!.length }, (_, i) => `arg${i}`);
    out.push({ method, subject: fn!.apply(space, args) });
  }
  return out;
}

describe('subject builders', () => {
  test('build the subjects of the architecture table', () => {
    assert.equal(mdBookSubject('binanceusdm', 'BTC-USDT-PERP'), 'md.book.binanceusdm.BTC-USDT-PERP');
    assert.equal(mdTradeSubject('okx', 'ETH-USDT-PERP'), 'md.trade.okx.ETH-USDT-PERP');
    assert.equal(
      mdFundingSubject('paper-lighter', 'BTC-USDC-PERP'),
      'md.funding.paper-lighter.BTC-USDC-PERP',
    );
    assert.equal(mdStatusSubject('hyperliquid'), 'md.status.hyperliquid');
    assert.equal(execOrderSubject('okx', 'main'), 'exec.order.okx.main');
    assert.equal(execFillSubject('okx', 'main'), 'exec.fill.okx.main');
    assert.equal(acctBalanceSubject('okx', 'main'), 'acct.balance.okx.main');
    assert.equal(acctPositionSubject('okx', 'main', 'BTC-USDT-PERP'), 'acct.position.okx.main.BTC-USDT-PERP');
    assert.equal(acctFundingSubject('okx', 'main', 'BTC-USDT-PERP'), 'acct.funding.okx.main.BTC-USDT-PERP');
    assert.equal(acctDriftSubject('okx', 'main'), 'acct.drift.okx.main');
    assert.equal(stratSubject('funding-arb-1', 'decision'), 'strat.funding-arb-1.decision');
  });

  test('reject tokens NATS would misread, naming the field and the value', () => {
    for (const bad of ['a.b', '*', 'a>', '>', 'a b', 'tab\there', 'new\nline', '', 'nul\u0000']) {
      assert.throws(
        () => mdBookSubject('okx', bad),
        (err: unknown) => {
          assert.ok(err instanceof ValidationError, `expected ValidationError for ${JSON.stringify(bad)}`);
          assert.equal(err.field, 'instrument');
          assert.ok(err.message.includes(JSON.stringify(bad)), err.message);
          return true;
        },
      );
    }
    assert.throws(() => execFillSubject('o.kx', 'main'), { name: 'ValidationError', field: 'venue' });
    assert.throws(() => stratSubject('s', 'sig nal'), { name: 'ValidationError', field: 'kind' });
    assert.throws(() => stratSubject(undefined as unknown as string, 'k'), {
      name: 'ValidationError',
      field: 'strategy',
    });
  });

  test('filters put * for the parameters not given and validate the ones given', () => {
    assert.equal(subjectFilter('execFill'), 'exec.fill.*.*');
    assert.equal(subjectFilter('execFill', { venue: 'okx' }), 'exec.fill.okx.*');
    assert.equal(subjectFilter('acctPosition', { account: 'main' }), 'acct.position.*.main.*');
    assert.equal(subjectFilter('strat', { strategy: 'grid-1' }), 'strat.grid-1.*');
    assert.throws(() => subjectFilter('mdBook', { venue: 'okx.x' }), {
      name: 'ValidationError',
      field: 'venue',
    });
    assert.ok(matches(subjectFilter('mdBook', { venue: 'okx' }), mdBookSubject('okx', 'BTC-USDT-PERP')));
    assert.ok(
      !matches(subjectFilter('mdBook', { venue: 'okx' }), mdBookSubject('binanceusdm', 'BTC-USDT-PERP')),
    );
  });

  test('a root token namespaces every subject and filter', () => {
    const space = new Subjects({ root: 'T_ABC' });
    assert.equal(space.root, 'T_ABC');
    assert.equal(space.mdBook('okx', 'BTC-USDT-PERP'), 'T_ABC.md.book.okx.BTC-USDT-PERP');
    assert.equal(space.strat('s1', 'signal'), 'T_ABC.strat.s1.signal');
    assert.equal(space.filter('execOrder', { venue: 'okx' }), 'T_ABC.exec.order.okx.*');
    for (const bad of ['a.b', '>', '', '$SYS']) {
      assert.throws(() => new Subjects({ root: bad }), { name: 'ValidationError', field: 'root' });
    }
  });
});

describe('stream specs', () => {
  test('five streams with the default ages and windows', () => {
    const specs = streamSpecs();
    assert.deepEqual(
      specs.map((s) => s.name),
      ['MD', 'EXEC', 'ACCT', 'STRAT', 'JOURNAL'],
    );
    const byName = new Map(specs.map((s) => [s.name, s]));
    assert.equal(byName.get('MD')?.maxAgeMs, 24 * 60 * 60 * 1000);
    for (const name of ['EXEC', 'ACCT', 'STRAT'])
      assert.equal(byName.get(name)?.maxAgeMs, 30 * 24 * 60 * 60 * 1000);
    for (const spec of specs) {
      assert.ok(spec.duplicateWindowMs > 0 && spec.duplicateWindowMs <= spec.maxAgeMs, spec.name);
      assert.ok(spec.description.length > 0);
    }
    assert.deepEqual(byName.get('MD')?.subjects, [
      'md.book.*.*',
      'md.trade.*.*',
      'md.funding.*.*',
      'md.status.*',
    ]);
    assert.deepEqual(byName.get('STRAT')?.subjects, ['strat.*.*']);
    assert.deepEqual(byName.get('JOURNAL')?.subjects, ['journal.*']);
    assert.equal(byName.get('JOURNAL')?.maxAgeMs, 24 * 60 * 60 * 1000);
  });

  test('every subject builder output lands in exactly one stream, the one its kind names', () => {
    const specs = streamSpecs();
    const outputs = everyBuilderOutput(new Subjects());
    assert.equal(outputs.length, SUBJECT_KINDS.length, 'one builder method per subject kind');
    for (const { method, subject } of outputs) {
      const kind = method as keyof typeof SUBJECTS;
      assert.deepEqual(streamsMatching(specs, subject), [SUBJECTS[kind].stream], `${method} → ${subject}`);
    }
  });

  test('no stream takes a subject with a missing or extra token', () => {
    const specs = streamSpecs();
    for (const stray of [
      'md.book.okx',
      'md.book.okx.BTC.extra',
      'exec.fill.okx',
      'strat.s1',
      'md.other.okx.x',
    ]) {
      assert.deepEqual(streamsMatching(specs, stray), [], stray);
    }
  });

  test('prefix and subject root isolate streams and subjects from production and each other', () => {
    const ns = namespaceFor('T_1A2B_C3');
    assert.deepEqual(ns, { prefix: 'T_1A2B_C3_', subjectRoot: 'T_1A2B_C3' });
    const isolated = streamSpecs(ns);
    assert.deepEqual(
      isolated.map((s) => s.name),
      ['T_1A2B_C3_MD', 'T_1A2B_C3_EXEC', 'T_1A2B_C3_ACCT', 'T_1A2B_C3_STRAT', 'T_1A2B_C3_JOURNAL'],
    );
    const production = streamSpecs();
    const other = streamSpecs(namespaceFor('T_OTHER'));
    for (const { method, subject } of everyBuilderOutput(new Subjects({ root: ns.subjectRoot }))) {
      assert.equal(streamsMatching(isolated, subject).length, 1, `${method} in its isolated stream`);
      assert.deepEqual(streamsMatching(production, subject), [], `${method} not in production streams`);
      assert.deepEqual(streamsMatching(other, subject), [], `${method} not in another namespace`);
    }
    for (const { subject } of everyBuilderOutput(new Subjects())) {
      assert.deepEqual(streamsMatching(isolated, subject), []);
    }
  });

  test('namespaceFor turns any name into valid tokens', () => {
    const ns = namespaceFor('my test.run*1>x');
    assert.equal(ns.subjectRoot, 'my_test_run_1_x');
    assert.equal(new Subjects({ root: ns.subjectRoot }).mdStatus('okx'), 'my_test_run_1_x.md.status.okx');
    assert.throws(() => namespaceFor(''), { name: 'ValidationError', field: 'name' });
  });

  test('ages and windows can be overridden and are validated', () => {
    const specs = streamSpecs({ maxAgeMs: { EXEC: 60_000 }, duplicateWindowMs: { MD: 5_000 } });
    const byName = new Map(specs.map((s) => [s.name, s]));
    assert.equal(byName.get('EXEC')?.maxAgeMs, 60_000);
    assert.equal(byName.get('EXEC')?.duplicateWindowMs, 60_000, 'window capped at the max age');
    assert.equal(byName.get('MD')?.duplicateWindowMs, 5_000);
    assert.equal(byName.get('ACCT')?.maxAgeMs, DEFAULT_MAX_AGE_MS.ACCT);
    assert.throws(() => streamSpecs({ maxAgeMs: { MD: 0 } }), {
      name: 'ValidationError',
      field: 'maxAgeMs.MD',
    });
    assert.throws(() => streamSpecs({ duplicateWindowMs: { ACCT: 1.5 } }), {
      name: 'ValidationError',
      field: 'duplicateWindowMs.ACCT',
    });
    for (const bad of ['A.B_', 'A B', 'a/b', 'x*', 'y>']) {
      assert.throws(() => streamSpecs({ prefix: bad }), { name: 'ValidationError', field: 'prefix' });
    }
    assert.throws(() => streamSpecs({ subjectRoot: 'a.b' }), {
      name: 'ValidationError',
      field: 'subjectRoot',
    });
  });

  test('streamSpecFor finds the stream of a subject kind', () => {
    assert.equal(streamSpecFor('acctDrift').name, 'ACCT');
    assert.equal(streamSpecFor('mdStatus', { prefix: 'T_' }).name, 'T_MD');
  });
});
