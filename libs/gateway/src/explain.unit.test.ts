import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ValidationError } from '@perpmesh/core';
import { EXPLAIN_ROUTE, explainTargetOf } from './explain.js';

test('the id of /api/explain/<id>: client order ids, event ids and decision ids, URL-decoded', () => {
  for (const id of ['arb-1_rest', '01900000-0000-7000-8000-000000000001', 'arb-1:7', 'a.b']) {
    assert.equal(explainTargetOf(`${EXPLAIN_ROUTE}${encodeURIComponent(id)}`), id);
  }
});

test('anything else is refused naming the id', () => {
  for (const raw of ['', 'a%20b', '..%2Fetc', '%E0%A4%A', '-leading', 'x'.repeat(129)]) {
    assert.throws(
      () => explainTargetOf(`${EXPLAIN_ROUTE}${raw}`),
      (err) => err instanceof ValidationError && err.field === 'id',
      raw,
    );
  }
});
