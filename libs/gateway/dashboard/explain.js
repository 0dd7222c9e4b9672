// The explain panel: click an open order or a decision and see the timeline from it back to
// the decision that placed (or canceled) it and the inputs that decision was made from:
// funding rates, books, balances (GET /api/explain/<id>, the same walk as `perpmesh explain`).

import { esc, fmtTime } from '/format.js';

const $ = (sel) => document.querySelector(sel);

/** Only the answer to the newest click is shown (an older, slower one is dropped). */
let asked = 0;

/** Listens for clicks on open orders and decisions; `getJson` is the page's (it handles the read token). */
export function installExplain({ getJson }) {
  document.addEventListener('click', (ev) => {
    const el = ev.target instanceof Element ? ev.target : undefined;
    const order = el?.closest('#orders tr[data-client-order-id]');
    const decision = el?.closest('#decisions li[data-event-id]');
    const id = order?.dataset.clientOrderId ?? decision?.dataset.eventId;
    if (id) explainId(id, getJson);
  });
}

async function explainId(id, getJson) {
  const n = ++asked;
  const box = $('#explain');
  box.dataset.target = id;
  box.dataset.state = 'loading';
  box.innerHTML = `<p class="muted">explaining ${esc(id)}…</p>`;
  let x;
  try {
    x = await getJson(`/api/explain/${encodeURIComponent(id)}`);
  } catch (err) {
    if (n !== asked) return;
    box.dataset.state = 'error';
    box.innerHTML = `<p class="reason">${esc(err.message)}</p>`;
    return;
  }
  if (n !== asked) return;
  box.dataset.state = 'done';
  box.innerHTML = renderExplanation(x);
}

function inputsLine(name, group) {
  const entries = Object.entries(group ?? {});
  if (entries.length === 0) return '';
  return `<li><span class="kind">${esc(name)}</span>${entries.map(([k, v]) => `${esc(k)}=${esc(v)}`).join(' ')}</li>`;
}

function decisionBlock(role, title, d) {
  const trigger = d.trigger
    ? `<li><span class="kind">triggered by</span>input #${esc(d.trigger.n)} at ${esc(fmtTime(d.trigger.nowMs))}: ${esc(d.trigger.input)}${d.trigger.from ? ` <small class="muted">(${esc(d.trigger.from)})</small>` : ''}</li>`
    : '';
  return `<div class="explain-decision" data-role="${role}" data-decision-id="${esc(d.decisionId)}" data-event-id="${esc(d.eventId)}">
    <h3>${esc(title)}: ${esc(d.strategyId)} ${esc(d.decision)} <span class="tag">${esc(d.reasonCode)}</span> <small class="muted">${esc(d.decisionId)}</small></h3>
    <p class="muted">${esc(d.reason)}</p>
    <ul class="explain-inputs">${trigger}${inputsLine('funding rates', d.inputs.funding)}${inputsLine('books', d.inputs.books)}${inputsLine('balances (risk check)', d.inputs.balances)}${inputsLine('sizing and checks', d.inputs.other)}</ul></div>`;
}

function renderExplanation(x) {
  const head = `<p><b>${esc(x.target)}</b>${x.clientOrderId && x.clientOrderId !== x.target ? ` <small class="muted">order ${esc(x.clientOrderId)}</small>` : ''}${x.order ? ` · ${esc(x.order)}` : ''}</p>`;
  const placed = x.placedBy
    ? decisionBlock('placed-by', x.clientOrderId ? 'placed by' : 'decision', x.placedBy)
    : '';
  const canceled = (x.canceledBy ?? [])
    .map((d) => decisionBlock('canceled-by', 'cancel requested by', d))
    .join('');
  const timeline = `<ol class="feed explain-timeline">${x.timeline
    .map(
      (t) =>
        `<li class="explain-item"${t.eventId ? ` data-event-id="${esc(t.eventId)}"` : ''}><time>${esc(fmtTime(t.tsMs))}</time><span class="kind">${esc(t.at)}</span>${esc(t.what)}</li>`,
    )
    .join('')}</ol>`;
  const problems = x.problems.map((p) => `<p class="reason explain-problem">${esc(p)}</p>`).join('');
  return head + placed + canceled + timeline + problems;
}
