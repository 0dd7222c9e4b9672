// The perpmesh dashboard: plain ES modules, no build step. Views come from the gateway's
// JSON API; the server-sent-event stream (/api/events) says when something changed, and
// the affected view is refetched (debounced), so the page never reloads.

import { installExplain } from '/explain.js';
import { esc, fmtAge, fmtDec, fmtHours, fmtTime, signOf } from '/format.js';
import uPlot from '/vendor/uplot.esm.js';

const $ = (sel) => document.querySelector(sel);

const page = {
  events: 0,
  decisions: [],
  strategies: [],
  /** Client clock when each view was fetched, to age the server's ageMs live. */
  fetchedAt: {},
  balances: [],
  equity: { xs: [], series: new Map() },
  spread: { xs: [], series: new Map() },
  fundingHistory: { xs: [], series: new Map() },
  fundingReadings: { xs: [], series: new Map() },
  charts: {},
};

/**
 * The token for reads when the gateway is reached beyond loopback (it then asks for it on
 * every /api GET). Kept in this page's memory only: never in storage or a cookie.
 */
let readToken;
let askingReadToken;

async function getJson(path) {
  const headers = { accept: 'application/json' };
  if (readToken) headers.authorization = `Bearer ${readToken}`;
  const res = await fetch(path, { headers });
  if (res.status === 401 && !readToken) {
    askingReadToken ??= askToken('Token to read (this gateway is not on loopback)').then((token) => {
      readToken = token || undefined;
      askingReadToken = undefined;
    });
    await askingReadToken;
    if (readToken) return getJson(path);
  }
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(body.message || `${path}: HTTP ${res.status}`);
  return body;
}

function showError(selector, err, colspan = 8) {
  const target = $(selector);
  if (target) target.innerHTML = `<tr><td colspan="${colspan}" class="reason">${esc(err.message)}</td></tr>`;
}

function numCell(text, places, colour = false) {
  const cls = colour ? (signOf(text) > 0 ? ' pos' : signOf(text) < 0 ? ' neg' : '') : '';
  return `<td class="num${cls}">${esc(fmtDec(text, places))}</td>`;
}

// ---- views ------------------------------------------------------------------------------

async function refreshVenues() {
  const { venues } = await getJson('/api/venues');
  $('#venues').innerHTML = venues.length
    ? venues.map(venueCard).join('')
    : '<p class="empty">no venues reported</p>';
}

// ---- venue readiness: every component, EMULATED badge ----------------------------------------

/** One venue: its verdict, an EMULATED badge when its URLs point at a local emulator, every component. */
function venueCard(v) {
  const badge = v.emulated
    ? ' <span class="pill pill-emulated" data-badge="emulated" title="local emulator: simulated money, not the real venue">EMULATED</span>'
    : '';
  return `<div class="venue" data-venue="${esc(v.venue)}" data-ready="${v.ready}" data-emulated="${v.emulated === true}">
      <h3>${esc(v.venue)} <span class="pill ${v.ready ? 'pill-ok' : 'pill-bad'}">${v.ready ? 'ready' : 'not ready'}</span>${badge}</h3>
      <ul>${v.components.map(componentItem).join('')}</ul></div>`;
}

/**
 * One component: a dot (green ready, red not ready, amber an informational one not ready),
 * its name and source, and its reason (why not, or a ready port component's note).
 */
function componentItem(c) {
  const state = c.ready ? 'ready' : c.informational ? 'info' : 'not-ready';
  const source = c.port ? `${c.service} port` : c.service;
  const reason = c.reason ? ` <span class="${c.ready ? 'note' : 'reason'}">${esc(c.reason)}</span>` : '';
  return `<li data-component="${esc(c.name)}" data-state="${state}"><span class="dot ${state === 'ready' ? 'ok' : state}"></span>
        <span>${esc(c.name)} <small class="muted">${esc(source)}${c.informational ? ', informational' : ''}</small>${reason}</span></li>`;
}

async function refreshBalances() {
  const { balances } = await getJson('/api/balances');
  page.balances = balances;
  page.fetchedAt.balances = Date.now();
  renderBalances();
}

function renderBalances() {
  const since = Date.now() - (page.fetchedAt.balances ?? Date.now());
  $('#balances tbody').innerHTML = page.balances.length
    ? page.balances
        .map(
          (b) => `<tr class="${b.stale ? 'stale' : ''}" data-venue="${esc(b.venue)}">
      <td>${esc(b.venue)}</td><td>${esc(b.account)}</td><td>${esc(b.currency)}</td>
      ${numCell(b.total, 2)}${numCell(b.available, 2)}${numCell(b.equity, 2)}${numCell(b.unrealizedPnl, 2, true)}
      <td class="num age">${esc(fmtAge(b.ageMs + since))}${b.stale ? '<span class="tag tag-stale">stale</span>' : ''}</td></tr>`,
        )
        .join('')
    : '<tr><td colspan="8" class="empty">no balances reported yet</td></tr>';
}

async function refreshPositions() {
  const { positions } = await getJson('/api/positions');
  $('#positions tbody').innerHTML = positions.length
    ? positions
        .map(
          (p) => `<tr class="${p.stale ? 'stale' : ''}">
      <td>${esc(p.venue)}</td><td>${esc(p.instrument)}</td><td>${esc(p.side)}</td>
      ${numCell(p.size, 4)}${numCell(p.entryPrice, 2)}${numCell(p.markPrice, 2)}${numCell(p.unrealizedPnl, 2, true)}
      <td class="num">${p.liquidationDistancePct ? `${esc(p.liquidationDistancePct)} %` : '–'}</td></tr>`,
        )
        .join('')
    : '<tr><td colspan="8" class="empty">no open positions</td></tr>';
}

async function refreshOrders() {
  const { orders } = await getJson('/api/orders');
  $('#orders-count').textContent = String(orders.length);
  $('#orders tbody').innerHTML = orders.length
    ? orders
        .map(
          (o) => `<tr data-client-order-id="${esc(o.clientOrderId)}">
      <td>${esc(o.venue)}</td><td>${esc(o.instrument)}</td><td>${esc(o.side)}</td><td>${esc(o.type)}</td>
      ${numCell(o.price, 2)}${numCell(o.size, 4)}${numCell(o.filledSize, 4)}<td>${esc(o.status)}</td><td>${esc(o.clientOrderId)}</td></tr>`,
        )
        .join('')
    : '<tr><td colspan="9" class="empty">no open orders</td></tr>';
}

async function refreshFunding() {
  const m = await getJson('/api/funding');
  const cell = new Map(m.cells.map((c) => [`${c.instrument}|${c.venue}`, c]));
  $('#funding-matrix thead').innerHTML =
    `<tr><th>instrument</th>${m.venues.map((v) => `<th class="num">${esc(v)}</th>`).join('')}</tr>`;
  $('#funding-matrix tbody').innerHTML = m.instruments.length
    ? m.instruments
        .map(
          (i) =>
            `<tr data-instrument="${esc(i)}"><td>${esc(i)}</td>${m.venues
              .map((v) => {
                const c = cell.get(`${i}|${v}`);
                if (!c) return '<td class="num muted">–</td>';
                return `<td class="num funding-cell${c.stale ? ' reason' : ''}" data-venue="${esc(v)}" title="raw ${esc(c.rate)} per ${esc(fmtHours(c.intervalHours))}; next ${esc(fmtTime(c.nextFundingTimeMs))}">
                <span class="cell-main">${esc(c.ratePerHourPct)} %/h</span>
                <span class="cell-sub">${esc(c.annualizedPct)} %/yr · ${esc(fmtHours(c.intervalHours))}</span></td>`;
              })
              .join('')}</tr>`,
        )
        .join('')
    : '<tr><td class="empty">no funding rates yet</td></tr>';
  $('#funding-spreads tbody').innerHTML = m.spreads
    .map(
      (s) => `<tr><td>${esc(s.instrument)}</td><td>${esc(s.shortVenue)}</td><td>${esc(s.longVenue)}</td>
      ${numCell(s.spreadPerHour, 8)}<td class="num">${esc(s.spreadAnnualizedPct)} %</td></tr>`,
    )
    .join('');
  const x = Date.now() / 1000;
  for (const s of m.spreads) pushPoint(page.spread, s.instrument, x, Number(s.spreadAnnualizedPct));
  drawChart('spread', '#spread-chart', page.spread, ' %');
}

async function refreshSummary() {
  const { totals } = await getJson('/api/summary');
  const x = Date.now() / 1000;
  // Plotting only: a float is fine for a pixel position, never for accounting.
  for (const t of totals) pushPoint(page.equity, `equity ${t.currency}`, x, Number(t.equity));
  drawChart('equity', '#equity-chart', page.equity, '');
  $('#pnl-line').textContent = totals
    .map(
      (t) =>
        `${t.currency}: equity ${fmtDec(t.equity, 2)} · uPnL ${fmtDec(t.unrealizedPnl, 2)} · realized ${fmtDec(t.realizedPnl, 2)} · fees ${fmtDec(t.fees, 2)} · funding ${fmtDec(t.funding, 2)}`,
    )
    .join('  |  ');
}

async function refreshDecisions() {
  const d = await getJson('/api/decisions');
  page.decisions = d.decisions;
  page.strategies = d.strategies;
  renderDecisions();
}

function addDecision(event) {
  page.decisions.unshift(event);
  page.decisions.length = Math.min(page.decisions.length, 200);
  const id = event.payload.strategyId;
  const seen = page.strategies.find((s) => s.strategyId === id);
  if (seen) Object.assign(seen, { lastDecisionMs: event.tsEventMs, dryRun: event.payload.dryRun === true });
  else
    page.strategies.push({
      strategyId: id,
      lastDecisionMs: event.tsEventMs,
      dryRun: event.payload.dryRun === true,
    });
  renderDecisions();
}

function renderDecisions() {
  const running = page.strategies.length > 0;
  $('#decisions-empty').hidden = running;
  $('#dry-run-badge').hidden = !page.strategies.some((s) => s.dryRun);
  $('#strategies-line').textContent = page.strategies
    .map((s) => `${s.strategyId}${s.dryRun ? ' (dry-run)' : ''}`)
    .join(', ');
  $('#decisions').innerHTML = page.decisions
    .slice(0, 100)
    .map((e) => {
      const p = e.payload;
      return `<li class="decision" data-kind="${esc(p.kind)}" data-event-id="${esc(e.id)}"><time>${esc(fmtTime(e.tsEventMs))}</time>
        <span class="kind">${esc(p.strategyId)} ${esc(p.decision || p.kind)}</span>${esc(p.reasonCode)}
        ${p.dryRun ? '<span class="tag tag-stale">dry-run</span>' : ''}<br><small class="muted">${esc(p.reason)}</small></li>`;
    })
    .join('');
}

/** Funding-arb books (/api/arbs): PnL split and break-even per arb, totals, alarms, breakers, funding history. */
async function refreshArbs() {
  const book = await getJson('/api/arbs');
  page.arbs = book;
  renderArbBook(book);
  renderAlarms(book);
  renderFundingHistory(book);
}

function breakEvenCell(a) {
  if (!a.active) return '<td class="num muted">–</td>';
  return a.breakEvenHours === ''
    ? '<td class="num neg" title="the current funding does not pay">never</td>'
    : `<td class="num">${esc(fmtDec(a.breakEvenHours, 1))} h</td>`;
}

function renderArbBook(book) {
  const breakers = book.strategies
    .map((s) => {
      const b = s.breaker;
      const state = b.tripped
        ? `<span class="tag tag-stale breaker-tripped">entries paused: ${esc(b.reasonCode)}</span> ${esc(b.message)}`
        : '<span class="tag">entries allowed</span>';
      return `<p class="breaker" data-strategy="${esc(s.strategyId)}">${esc(s.strategyId)}${s.dryRun ? ' (dry-run)' : ''}: ${state} · realized ${esc(fmtDec(b.realizedNet, 2))} · drawdown ${esc(fmtDec(b.drawdown, 2))} · losing streak ${esc(b.consecutiveLosses)} · break-even ${esc(s.breakEvenHours === '' ? '–' : `${fmtDec(s.breakEvenHours, 1)} h`)}</p>`;
    })
    .join('');
  if (book.arbs.length === 0) {
    $('#arb-book').innerHTML =
      `${breakers}<p class="empty">${book.strategies.length ? 'no arbitrage positions yet' : 'no funding-arb strategy running: no arbitrage positions'}</p>`;
    return;
  }
  const t = book.totals;
  $('#arb-book').innerHTML =
    `${breakers}<table id="arb-table"><thead><tr><th>arb</th><th>phase</th><th>short / long</th>
    <th class="num">funding</th><th class="num">basis</th><th class="num">fees</th><th class="num">slippage</th><th class="num">net</th><th class="num">break-even</th></tr></thead><tbody>${book.arbs
      .map(
        (
          a,
        ) => `<tr class="arb" data-arb="${esc(a.arbId)}"><td>${esc(a.arbId)}<br><small class="muted">${esc(a.strategyId)}</small></td>
        <td>${esc(a.phase)}${a.closeReason ? `<br><small class="muted">${esc(a.closeReason)}</small>` : ''}</td>
        <td>${esc(a.short.venue)} ${esc(fmtDec(a.short.size, 4))}<br>${esc(a.long.venue)} ${esc(fmtDec(a.long.size, 4))}</td>
        ${numCell(a.attribution.funding, 4, true)}${numCell(a.attribution.basisPnl, 4, true)}${numCell(a.attribution.fees, 4)}${numCell(a.attribution.slippage, 4)}${numCell(a.attribution.net, 4, true)}${breakEvenCell(a)}</tr>`,
      )
      .join(
        '',
      )}<tr class="arb-total"><td colspan="3">total</td>${numCell(t.funding, 4, true)}${numCell(t.basisPnl, 4, true)}${numCell(t.fees, 4)}${numCell(t.slippage, 4)}${numCell(t.net, 4, true)}<td></td></tr></tbody></table>`;
}

function renderAlarms(book) {
  $('#alarms').innerHTML = book.alarms.length
    ? book.alarms
        .map(
          (
            a,
          ) => `<li class="alarm" data-alarm="${esc(a.name)}"><span class="tag tag-stale">${esc(a.name)}</span> ${esc(a.message)}
          <small class="muted">${esc(a.strategyId)} · since ${esc(fmtTime(a.sinceMs))} (${esc(fmtAge(a.ageMs))})</small></li>`,
        )
        .join('')
    : '<li class="empty">no alarms</li>';
}

/** Cumulative funding per arb, predicted (the reading before each settlement) vs settled, for the newest arbs. */
function renderFundingHistory(book) {
  const arbIds = [...new Set(book.funding.map((f) => f.arbId))].slice(-3);
  const store = { xs: [], series: new Map() };
  const cum = new Map();
  for (const f of book.funding) {
    if (!arbIds.includes(f.arbId)) continue;
    const c = cum.get(f.arbId) ?? { settled: 0, predicted: 0 };
    // Plotting only: floats place pixels, the table keeps the decimals.
    c.settled += Number(f.settled);
    if (f.predicted !== '') c.predicted += Number(f.predicted);
    cum.set(f.arbId, c);
    const x = f.fundingTimeMs / 1000;
    pushPoint(store, `${f.arbId} settled`, x, c.settled);
    pushPoint(store, `${f.arbId} predicted`, x, c.predicted);
  }
  page.fundingHistory = store;
  $('#funding-history-empty').hidden = store.xs.length > 0;
  if (store.xs.length > 0) drawChart('fundingHistory', '#funding-history-chart', store, '');

  // Each venue's rate per hour as it stood at each settlement (the last point: the next one).
  const readings = { xs: [], series: new Map() };
  for (const r of book.fundingReadings) {
    pushPoint(readings, `${r.venue} ${r.instrument}`, r.fundingTimeMs / 1000, Number(r.ratePerHourPct));
  }
  page.fundingReadings = readings;
  if (readings.xs.length > 0) drawChart('fundingReadings', '#funding-readings-chart', readings, ' %');
}

// ---- charts (uPlot) ---------------------------------------------------------------------

const MAX_POINTS = 720;
const COLOURS = ['#5aa2e6', '#3fb27f', '#d8a93b', '#e0605e', '#b07ce0', '#4cc4c4'];

function pushPoint(store, name, x, y) {
  if (!Number.isFinite(y)) return;
  if (store.xs[store.xs.length - 1] !== x) {
    store.xs.push(x);
    for (const ys of store.series.values()) ys.push(null);
  }
  if (!store.series.has(name))
    store.series.set(
      name,
      store.xs.map(() => null),
    );
  store.series.get(name)[store.xs.length - 1] = y;
  if (store.xs.length > MAX_POINTS) {
    store.xs.shift();
    for (const ys of store.series.values()) ys.shift();
  }
}

function drawChart(key, selector, store, unit) {
  const el = $(selector);
  const names = [...store.series.keys()];
  const data = [store.xs, ...names.map((n) => store.series.get(n))];
  const existing = page.charts[key];
  if (existing && existing.names.join('|') === names.join('|')) {
    existing.plot.setData(data);
    return;
  }
  existing?.plot.destroy();
  const opts = {
    width: Math.max(300, el.clientWidth),
    height: 220,
    // With one point uPlot would span years; show the last minute instead.
    scales: {
      x: { time: true, range: (_u, min, max) => (max - min < 60 ? [max - 60, max + 1] : [min, max]) },
    },
    axes: [
      { stroke: '#8793a3', grid: { stroke: '#262d37' } },
      {
        stroke: '#8793a3',
        grid: { stroke: '#262d37' },
        size: 86,
        values: (_, ticks) => ticks.map((t) => `${t}${unit}`),
      },
    ],
    series: [
      {},
      ...names.map((n, i) => ({ label: n, stroke: COLOURS[i % COLOURS.length], width: 1.5, spanGaps: true })),
    ],
  };
  page.charts[key] = { names, plot: new uPlot(opts, data, el) };
}

const CHART_ELEMENT = {
  equity: '#equity-chart',
  spread: '#spread-chart',
  fundingHistory: '#funding-history-chart',
  fundingReadings: '#funding-readings-chart',
};

window.addEventListener('resize', () => {
  for (const [key, c] of Object.entries(page.charts)) {
    const el = $(CHART_ELEMENT[key]);
    c.plot.setSize({ width: Math.max(300, el.clientWidth), height: 220 });
  }
});

// ---- live updates ------------------------------------------------------------------------

const REFRESH = {
  venues: refreshVenues,
  balances: refreshBalances,
  positions: refreshPositions,
  orders: refreshOrders,
  funding: refreshFunding,
  summary: refreshSummary,
  decisions: refreshDecisions,
  arbs: refreshArbs,
};
const ERROR_TARGET = {
  balances: ['#balances tbody', 8],
  positions: ['#positions tbody', 8],
  orders: ['#orders tbody', 9],
  funding: ['#funding-matrix tbody', 1],
};
const pending = new Map();

function refresh(name) {
  return REFRESH[name]().catch((err) => {
    const target = ERROR_TARGET[name];
    if (target) showError(target[0], err, target[1]);
    else if (name === 'venues') $('#venues').innerHTML = `<p class="reason">${esc(err.message)}</p>`;
    else if (name === 'arbs') $('#arb-book').innerHTML = `<p class="reason">${esc(err.message)}</p>`;
  });
}

/** Refetches a view soon, once for a burst of events. */
function schedule(name, delayMs = 250) {
  if (pending.has(name)) return;
  pending.set(
    name,
    setTimeout(() => {
      pending.delete(name);
      refresh(name);
    }, delayMs),
  );
}

const VIEWS_OF_KIND = {
  fundingRate: ['funding'],
  venueStatus: ['venues'],
  orderEvent: ['orders'],
  fill: ['orders', 'positions', 'summary'],
  balance: ['balances', 'summary', 'venues'],
  position: ['positions', 'summary'],
  fundingPayment: ['summary', 'arbs'],
};

function logEvent(e) {
  const li = document.createElement('li');
  li.innerHTML = `<time>${esc(fmtTime(e.tsInitMs))}</time><span class="kind">${esc(e.kind)}</span>${esc(e.subject)}`;
  const list = $('#events');
  list.prepend(li);
  while (list.children.length > 50) list.lastChild.remove();
}

/** The stream's URL: beyond loopback (a read token was needed) with a single-use ticket. */
async function streamUrl() {
  if (!readToken) return '/api/events';
  try {
    const res = await fetch('/api/stream-ticket', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${readToken}` },
      body: '{}',
    });
    if (res.ok) return `/api/events?ticket=${encodeURIComponent((await res.json()).ticket)}`;
  } catch {
    // fall through: the plain stream, which says why it is refused
  }
  return '/api/events';
}

async function connect() {
  const status = $('#stream-status');
  const stream = new EventSource(await streamUrl());
  stream.addEventListener('ready', () => {
    status.textContent = 'live';
    status.className = 'pill pill-ok';
  });
  stream.onmessage = (m) => {
    const e = JSON.parse(m.data);
    page.events += 1;
    $('#event-count').textContent = String(page.events);
    logEvent(e);
    if (e.kind === 'strategyDecision') {
      addDecision(e);
      // Fills, settlements, alarms and breaker trips all come with a decision.
      schedule('arbs', 1000);
    }
    // Funding readings stream several times a second: refetch the matrix at most every 2 s.
    for (const view of VIEWS_OF_KIND[e.kind] ?? []) schedule(view, view === 'funding' ? 2000 : 250);
  };
  stream.onerror = () => {
    // EventSource reconnects by itself (retry: 3000); say so meanwhile.
    status.textContent = 'reconnecting…';
    status.className = 'pill pill-warn';
    // A refused stream, or one whose ticket is spent, does not come back by itself.
    if (stream.readyState === EventSource.CLOSED || readToken) {
      stream.close();
      setTimeout(connect, 3000);
    }
  };
}

// ---- actions -----------------------------------------------------------------------------

function say(text, kind) {
  const el = $('#action-result');
  el.textContent = text;
  el.className = kind;
  el.title = text;
}

/** Asks for the token in a dialog; resolves with it ('' allowed) or undefined when backed out. */
function askToken(title) {
  const dialog = $('#token-dialog');
  $('#token-title').textContent = title;
  $('#token-input').value = '';
  return new Promise((resolve) => {
    dialog.addEventListener(
      'close',
      () => resolve(dialog.returnValue === 'confirm' ? $('#token-input').value.trim() : undefined),
      {
        once: true,
      },
    );
    dialog.showModal();
  });
}

async function act(path, body, title) {
  const token = await askToken(title);
  if (token === undefined) return;
  const headers = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  try {
    const res = await fetch(path, { method: 'POST', headers, body: JSON.stringify(body) });
    const answer = await res.json().catch(() => ({}));
    if (!res.ok) {
      say(`refused (${res.status}): ${answer.message ?? 'no reason given'}`, 'bad');
      return;
    }
    say(
      path === '/api/cancel-all'
        ? `cancel requested for ${answer.ordersCancelRequested} order(s)`
        : `trading state ${answer.state}`,
      'ok',
    );
  } catch (err) {
    say(`failed: ${err.message}`, 'bad');
  }
  schedule('orders', 100);
  setTimeout(() => schedule('orders', 0), 1500);
}

$('#cancel-all').addEventListener('click', () => act('/api/cancel-all', {}, 'Cancel all open orders'));
for (const id of ['#trading-halt', '#trading-reduce', '#trading-resume']) {
  const button = $(id);
  button.addEventListener('click', () =>
    act(
      '/api/trading-state',
      { state: button.dataset.state, reason: 'dashboard' },
      `Set trading state ${button.dataset.state}`,
    ),
  );
}

// ---- start -------------------------------------------------------------------------------

// Read-only numbers for the browser test (points plotted so far); nothing to act with.
window.perpmeshDashboard = Object.freeze({
  chartPoints: () => ({
    equity: page.equity.xs.length,
    spread: page.spread.xs.length,
    fundingHistory: page.fundingHistory.xs.length,
    fundingReadings: page.fundingReadings.xs.length,
  }),
  events: () => page.events,
});

installExplain({ getJson });
connect();
for (const name of Object.keys(REFRESH)) refresh(name);
setInterval(() => refresh('venues'), 5000);
setInterval(() => refresh('balances'), 5000);
setInterval(() => refresh('summary'), 5000);
setInterval(() => refresh('funding'), 15000);
setInterval(() => refresh('arbs'), 5000); // marks and break-even move with the books
setInterval(renderBalances, 1000); // ages tick between fetches
