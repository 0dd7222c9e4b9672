import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isValidPublishSubject, isValidSubjectFilter, subjectMatches, subjectsOverlap } from './subjects.js';

describe('subjects', () => {
  test('publish subjects have no wildcards, empty tokens or spaces', () => {
    assert.ok(isValidPublishSubject('exec.order.paper.main'));
    for (const bad of ['', 'exec..order', 'exec.*', 'exec.>', '.exec', 'exec.', 'ex ec', 'a.b*c']) {
      assert.equal(isValidPublishSubject(bad), false, bad);
    }
  });

  test('filters allow * anywhere and > only last', () => {
    assert.ok(isValidSubjectFilter('md.*.paper.>'));
    assert.ok(isValidSubjectFilter('>'));
    assert.equal(isValidSubjectFilter('md.>.paper'), false);
    assert.equal(isValidSubjectFilter('md..x'), false);
  });

  test('matching follows NATS: * is one token, > is one or more', () => {
    const cases: [string, string, boolean][] = [
      ['exec.>', 'exec.order.paper', true],
      ['exec.>', 'exec', false],
      ['exec.*', 'exec.order', true],
      ['exec.*', 'exec.order.paper', false],
      ['exec.*.paper', 'exec.fill.paper', true],
      ['exec.*.paper', 'exec.fill.okx', false],
      ['exec.order', 'exec.order', true],
      ['exec.order', 'exec.orders', false],
      ['>', 'a', true],
    ];
    for (const [filter, subject, want] of cases)
      assert.equal(subjectMatches(filter, subject), want, `${filter} ~ ${subject}`);
  });

  test('overlap: is there a subject both filters match?', () => {
    const cases: [string, string, boolean][] = [
      ['md.>', 'exec.>', false],
      ['md.>', 'md.book.*', true],
      ['md.*', 'md.book.x', false],
      ['a.*.c', 'a.b.*', true],
      ['a.b', 'a.>', true],
      ['a', 'a.>', false],
      ['a.b', 'a.c', false],
    ];
    for (const [x, y, want] of cases) {
      assert.equal(subjectsOverlap(x, y), want, `${x} / ${y}`);
      assert.equal(subjectsOverlap(y, x), want, `${y} / ${x}`);
    }
  });
});
