// node:test reporter that ends a run with one plain line, "N passed, N failed",
// taken from the runner's own closing counts, so a run that tested nothing shows 0 passed.
// Cancelled tests (a failed before-hook, a file that crashed) count as failed.
export default async function* summaryReporter(source) {
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  for await (const event of source) {
    if (event.type !== 'test:diagnostic' || event.data.nesting !== 0) continue;
    const match = /^(pass|fail|cancelled|skipped|todo) (\d+)$/.exec(event.data.message);
    if (!match) continue;
    const count = Number(match[2]);
    if (match[1] === 'pass') passed = count;
    else if (match[1] === 'fail' || match[1] === 'cancelled') failed += count;
    else skipped += count;
  }
  yield `${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}\n`;
}
