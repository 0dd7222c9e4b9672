/**
 * The equity chart of a backtest as ONE self-contained HTML page: the dashboard's chart
 * library (uPlot, read from node_modules) and its CSS inlined, the data embedded as JSON.
 * Opens from disk without a server or a network.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { BacktestResult } from './engine.js';

const require = createRequire(import.meta.url);

function uplotAssets(): { js: string; css: string } {
  return {
    js: readFileSync(require.resolve('uplot/dist/uPlot.iife.min.js'), 'utf8'),
    css: readFileSync(require.resolve('uplot/dist/uPlot.min.css'), 'utf8'),
  };
}

/** Code safe inside a <script> element: only a closing tag could end it early. */
const scriptSafe = (code: string) => code.replace(/<\/(script)/gi, '<\\/$1');
/** JSON safe inside a <script> element (`<` only occurs in strings, where \u003c is the same text). */
const jsonSafe = (json: string) => json.replace(/</g, '\\u003c');
const htmlEscape = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** `summaryLines`: the printed summary, shown under the chart. */
export function equityChartHtml(result: BacktestResult, summaryLines: readonly string[]): string {
  const { js, css } = uplotAssets();
  // Plot coordinates only: the chart draws floats; the summary keeps the exact decimals.
  const data = [result.equity.map((p) => p.tMs / 1000), result.equity.map((p) => p.equity.toNumber())];
  const title = `perpmesh backtest: ${result.strategyId}, seed ${result.seed}`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${htmlEscape(title)}</title>
<style>${css}
body { font: 14px system-ui, sans-serif; margin: 24px; color: #222; }
pre { background: #f6f6f6; padding: 12px; }
</style>
</head>
<body>
<h1>${htmlEscape(title)}</h1>
<div id="chart"></div>
<pre>${htmlEscape(summaryLines.join('\n'))}</pre>
<script>${scriptSafe(js)}</script>
<script>
const data = ${jsonSafe(JSON.stringify(data))};
new uPlot({
  width: Math.min(1200, window.innerWidth - 48),
  height: 420,
  series: [{}, { label: 'equity', stroke: '#1f77b4', width: 1.5 }],
  axes: [{}, { size: 90 }],
}, data, document.getElementById('chart'));
</script>
</body>
</html>
`;
}
