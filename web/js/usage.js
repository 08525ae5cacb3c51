// usage.js — the Usage page (SPEC §4, §5): requests and messages per day of
// the active workspace as an inline SVG chart drawn here (no library; its
// numbers are also a table), the totals, and the breakdowns by token and by
// bot. Data: GET /app/api/usage?start&end&group_by=day|token|bot (UTC dates,
// end inclusive), one query per grouping.
import { h, clear, add, nextId } from './dom.js';
import { ApiError } from './api.js';

export const RANGES = [7, 30, 90];
export const DEFAULT_DAYS = 30;
const DAY = 86400000;
const SVG_NS = 'http://www.w3.org/2000/svg';

const num = new Intl.NumberFormat('en');
const pct = new Intl.NumberFormat('en', { style: 'percent', maximumFractionDigits: 1 });
const dayShort = new Intl.DateTimeFormat('en', { month: 'short', day: 'numeric', timeZone: 'UTC' });
const dayLong = new Intl.DateTimeFormat('en', { weekday: 'short', month: 'short', day: 'numeric', year: 'numeric', timeZone: 'UTC' });
const dayMedium = new Intl.DateTimeFormat('en', { dateStyle: 'medium', timeZone: 'UTC' });

const toDate = (ymd) => new Date(ymd + 'T00:00:00Z');
export const fmtNum = (n) => num.format(Number(n) || 0);
const plural = (n, one, many = one + 's') => `${fmtNum(n)} ${Number(n) === 1 ? one : many}`;

// The UTC day of a time, as YYYY-MM-DD.
export function utcDay(ms) {
  return new Date(ms).toISOString().slice(0, 10);
}

// The last `days` days ending today (UTC), end inclusive.
export function rangeFor(days, now = Date.now()) {
  const end = utcDay(now);
  const start = utcDay(toDate(end).getTime() - (days - 1) * DAY);
  return { start, end };
}

// The range chosen in the address (?days=7), else the default.
export function daysFromLocation(search = location.search) {
  const n = Number(new URLSearchParams(search).get('days'));
  return RANGES.includes(n) ? n : DEFAULT_DAYS;
}

// GET /app/api/usage; a GET needs no CSRF header. Errors as api.js's ApiError.
async function fetchUsage(params) {
  const qs = new URLSearchParams(params).toString();
  let res;
  try {
    res = await fetch('/app/api/usage?' + qs, { headers: { Accept: 'application/json' }, credentials: 'same-origin', cache: 'no-store' });
  } catch {
    throw new ApiError(0, { error: { code: 'network_error', message: 'Pegasus could not be reached. Check your connection and try again.' } });
  }
  let data = null;
  if ((res.headers.get('Content-Type') || '').includes('application/json')) {
    try {
      data = await res.json();
    } catch {
      data = null;
    }
  }
  if (!res.ok) throw new ApiError(res.status, data);
  if (!data || data.object !== 'usage' || !Array.isArray(data.data)) {
    throw new ApiError(res.status, { error: { code: 'bad_response', message: 'Pegasus sent a usage answer this page does not understand.' } });
  }
  return data;
}

// ---- the chart

function svg(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'text') el.textContent = v;
    else el.setAttribute(k, String(v));
  }
  for (const c of children) if (c) el.appendChild(c);
  return el;
}

// A y-axis top and step: 1, 2 or 5 × 10^k, about four steps, integers only.
export function niceScale(max, steps = 4) {
  if (!(max > 0)) return { top: steps, step: 1 };
  const raw = max / steps;
  const mag = 10 ** Math.floor(Math.log10(raw));
  let step = (mag >= 10 ? [1, 2, 2.5, 5, 10] : [1, 2, 5, 10]).map((m) => m * mag).find((s) => s >= raw);
  step = Math.max(1, Math.ceil(step));
  return { top: Math.ceil(max / step) * step, step };
}

const dayTitle = (r) =>
  `${dayLong.format(toDate(r.key))}: ${plural(r.requests, 'request')}, ${plural(r.messages, 'message')}` +
  (r.errors ? `, ${plural(r.errors, 'error')}` : '');

// rows: the group_by=day rows (one per day, oldest first).
export function usageChart(rows, { width = 960, height = 260 } = {}) {
  const m = { top: 14, right: 14, bottom: 30, left: width < 500 ? 44 : 52 };
  const pw = width - m.left - m.right;
  const ph = height - m.top - m.bottom;
  const n = Math.max(rows.length, 1);
  const slot = pw / n;
  const barW = Math.max(1.5, Math.min(28, slot * 0.62));
  const max = rows.reduce((a, r) => Math.max(a, r.requests || 0, r.messages || 0), 0);
  const { top, step } = niceScale(max);
  const y = (v) => m.top + ph - (ph * (v || 0)) / top;
  const cx = (i) => m.left + slot * i + slot / 2;

  const titleId = nextId('usage-chart-title');
  const descId = nextId('usage-chart-desc');
  const first = rows[0];
  const last = rows[rows.length - 1];
  const tot = rows.reduce((a, r) => ({ requests: a.requests + (r.requests || 0), messages: a.messages + (r.messages || 0) }), { requests: 0, messages: 0 });
  const busiest = rows.reduce((b, r) => (!b || r.requests > b.requests ? r : b), null);
  const summary = first
    ? `${rows.length} days from ${dayMedium.format(toDate(first.key))} to ${dayMedium.format(toDate(last.key))} (UTC): ` +
      `${plural(tot.requests, 'request')} and ${plural(tot.messages, 'message')} in all` +
      (busiest && busiest.requests ? `; the busiest day was ${dayMedium.format(toDate(busiest.key))} with ${plural(busiest.requests, 'request')}.` : '.')
    : 'No days in this period.';

  const root = svg('svg', {
    class: 'usage-chart',
    id: 'usage-chart',
    viewBox: `0 0 ${width} ${height}`,
    role: 'img',
    'aria-labelledby': `${titleId} ${descId}`,
    'data-days': rows.length,
    preserveAspectRatio: 'xMidYMid meet',
  });
  root.appendChild(svg('title', { id: titleId, text: 'Requests and messages per day' }));
  root.appendChild(svg('desc', { id: descId, text: summary }));

  // grid and y axis
  const grid = svg('g', { class: 'chart-grid', 'aria-hidden': 'true' });
  for (let v = 0; v <= top; v += step) {
    grid.appendChild(svg('line', { x1: m.left, x2: width - m.right, y1: y(v), y2: y(v), class: v === 0 ? 'axis' : 'gridline' }));
    grid.appendChild(svg('text', { x: m.left - 8, y: y(v), class: 'tick tick-y', 'text-anchor': 'end', 'dominant-baseline': 'middle', text: fmtNum(v) }));
  }
  root.appendChild(grid);

  // x labels: at most ~10, counted back from the last day so today has one
  const every = Math.max(1, Math.ceil(n / Math.max(2, Math.min(10, Math.floor(pw / 72)))));
  const xl = svg('g', { class: 'chart-x', 'aria-hidden': 'true' });
  rows.forEach((r, i) => {
    if ((rows.length - 1 - i) % every !== 0) return;
    xl.appendChild(svg('text', { x: cx(i), y: height - m.bottom + 18, class: 'tick tick-x', 'text-anchor': 'middle', text: dayShort.format(toDate(r.key)) }));
  });
  root.appendChild(xl);

  // one group per day: a hover column, the requests bar, the messages point
  const days = svg('g', { class: 'chart-days' });
  const dotR = slot >= 12 ? 3.5 : slot >= 6 ? 2.5 : 1.8;
  rows.forEach((r, i) => {
    const g = svg('g', { class: 'day', 'data-date': r.key });
    g.appendChild(svg('title', { text: dayTitle(r) }));
    g.appendChild(svg('rect', { class: 'hit', x: m.left + slot * i, y: m.top, width: slot, height: ph }));
    const by = y(r.requests);
    g.appendChild(svg('rect', {
      class: 'bar bar-requests',
      x: cx(i) - barW / 2,
      y: by,
      width: barW,
      height: Math.max(0, m.top + ph - by),
      rx: Math.min(3, barW / 3),
      'data-value': r.requests || 0,
    }));
    g.appendChild(svg('circle', { class: 'dot dot-messages', cx: cx(i), cy: y(r.messages), r: dotR, 'data-value': r.messages || 0 }));
    days.appendChild(g);
  });
  root.appendChild(days);
  if (rows.length > 1) {
    const pts = rows.map((r, i) => `${cx(i).toFixed(1)},${y(r.messages).toFixed(1)}`).join(' ');
    // the line goes under the points
    root.insertBefore(svg('polyline', { class: 'line-messages', points: pts, 'aria-hidden': 'true' }), days);
  }
  return root;
}

// ---- tables

function numCell(v, extra = {}) {
  return h('td', { class: 'num', ...extra }, fmtNum(v));
}

function dayTable(rows) {
  return h(
    'table',
    { class: 'grid usage-days', id: 'usage-day-table' },
    h('caption', { class: 'sr-only' }, 'Requests, messages, tokens and errors per day (UTC)'),
    h(
      'thead',
      {},
      h('tr', {}, ['Date', 'Requests', 'Messages', 'Input tokens', 'Output tokens', 'Errors'].map((t, i) => h('th', { scope: 'col', class: i ? 'num' : null }, t))),
    ),
    h(
      'tbody',
      {},
      rows
        .slice()
        .reverse()
        .map((r) =>
          h(
            'tr',
            { dataset: { date: r.key } },
            h('th', { scope: 'row' }, h('time', { datetime: r.key }, dayLong.format(toDate(r.key)))),
            numCell(r.requests),
            numCell(r.messages),
            numCell(r.input_tokens),
            numCell(r.output_tokens),
            numCell(r.errors, { class: r.errors ? 'num has-errors' : 'num' }),
          ),
        ),
    ),
  );
}

// kind: 'token' | 'bot'
function breakdownTable(kind, answer, total) {
  const first = kind === 'token' ? 'Token' : 'Bot';
  const rows = answer.data;
  if (!rows.length) return h('p', { class: 'muted' }, 'No requests in this period.');
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { class: 'grid usage-breakdown', id: `usage-by-${kind}` },
      h('caption', { class: 'sr-only' }, `Usage by ${kind}, most requests first`),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          [first, 'Requests', 'Share', 'Messages', 'Input tokens', 'Output tokens', 'Errors'].map((t, i) => h('th', { scope: 'col', class: i ? 'num' : null }, t)),
        ),
      ),
      h(
        'tbody',
        {},
        rows.map((r) => {
          const gone = r.key !== null && r.key !== undefined && r.label === r.key; // deleted: the id is its label
          const none = r.key === null || r.key === undefined;
          const share = total ? (r.requests || 0) / total : 0;
          return h(
            'tr',
            { class: `usage-row${none ? ' usage-row-none' : ''}`, dataset: { key: none ? '' : r.key } },
            h(
              'th',
              { scope: 'row', class: 'cell-label' },
              gone ? h('code', {}, r.label) : h('span', { class: 'usage-label' }, r.label || (none ? (kind === 'bot' ? 'No bot' : '—') : r.key)),
              gone ? h('span', { class: 'sub' }, kind === 'token' ? 'Deleted token' : 'Deleted bot') : null,
            ),
            numCell(r.requests, { class: 'num cell-requests' }),
            h(
              'td',
              { class: 'num cell-share' },
              h('span', { class: 'share' }, h('span', { class: 'share-bar', 'aria-hidden': 'true' }, shareBar(share)), pct.format(share)),
            ),
            numCell(r.messages),
            numCell(r.input_tokens),
            numCell(r.output_tokens),
            numCell(r.errors, { class: r.errors ? 'num has-errors' : 'num' }),
          );
        }),
      ),
    ),
  );
}

// A small inline SVG bar of a row's share of the requests (its size is SVG
// geometry, not a style attribute).
function shareBar(share) {
  const w = 48;
  return svg(
    'svg',
    { viewBox: `0 0 ${w} 6`, width: w, height: 6, focusable: 'false' },
    svg('rect', { class: 'share-bg', x: 0, y: 0, width: w, height: 6, rx: 3 }),
    share > 0 ? svg('rect', { class: 'share-fg', x: 0, y: 0, width: Math.max(3, w * share), height: 6, rx: 3 }) : null,
  );
}

function stat(id, label, value, sub) {
  return h('div', { class: 'stat', id }, h('dt', {}, label), h('dd', {}, h('span', { class: 'stat-value' }, fmtNum(value)), sub ? h('span', { class: 'stat-sub' }, sub) : null));
}

function totalsEl(t) {
  const errRate = t.requests ? `${pct.format((t.errors || 0) / t.requests)} of requests` : null;
  return h(
    'dl',
    { class: 'stats', id: 'usage-totals', 'aria-label': 'Totals for this period' },
    stat('usage-total-requests', 'Requests', t.requests),
    stat('usage-total-messages', 'Messages', t.messages),
    stat('usage-total-input', 'Input tokens', t.input_tokens),
    stat('usage-total-output', 'Output tokens', t.output_tokens),
    stat('usage-total-errors', 'Errors', t.errors, errRate),
  );
}

function upgradeCallout(ws, ctx) {
  const eligible = ctx.session.workspaces.filter((w) => w.api_access && w.id !== ws.id);
  return h(
    'div',
    { class: 'callout callout-upgrade', id: 'usage-blocker', dataset: { reason: 'upgrade_required' } },
    h('h3', {}, 'Upgrade to use the API'),
    h('p', {}, `API access is available on Pro and Ultra plans. ${ws.name} is on the ${ctx.planLabel(ws.plan)} plan, so its tokens cannot call the API and no new usage appears here.`),
    eligible.length
      ? h(
          'div',
          { class: 'callout-actions' },
          h('span', { class: 'muted' }, 'Switch to an eligible workspace:'),
          eligible.map((w) => h('button', { type: 'button', class: 'btn', onclick: () => ctx.switchWorkspace(w.id) }, `${w.name} (${ctx.planLabel(w.plan)})`)),
        )
      : h('p', { class: 'muted' }, 'Ask the workspace owner to upgrade to Pro or Ultra.'),
  );
}

function scopeNote(ws) {
  if (ws.type !== 'team') return `API requests made with your tokens in your Personal workspace.`;
  if (ws.role === 'owner' || ws.role === 'admin') return `API requests made with every member's tokens in ${ws.name}.`;
  return `Your own API requests in ${ws.name}. Owners and admins see the whole team's usage.`;
}

// ---- the page

// ctx: {session, workspace, handleError, announce, switchWorkspace, planLabel, roleLabel, link}
export function renderUsage(main, ctx) {
  const ws = ctx.workspace;
  let days = daysFromLocation();
  let seq = 0;
  let tableOpen = false;
  let resizeObs = null;

  const radios = RANGES.map((n) => {
    const input = h('input', { type: 'radio', name: 'usage-range', value: String(n), id: `usage-range-${n}`, class: 'seg-input', checked: n === days });
    input.addEventListener('change', () => {
      if (!input.checked) return;
      days = n;
      const url = n === DEFAULT_DAYS ? '/usage' : `/usage?days=${n}`;
      history.replaceState(null, '', url);
      load({ announceIt: true });
    });
    return h('label', { class: 'seg', for: `usage-range-${n}` }, input, h('span', { class: 'seg-text' }, `Last ${n} days`));
  });
  const rangeControl = h('fieldset', { class: 'range', id: 'usage-range' }, h('legend', { class: 'sr-only' }, 'Period'), h('div', { class: 'segmented' }, radios));
  const period = h('p', { class: 'period muted', id: 'usage-period' });
  const refresh = h('button', { type: 'button', class: 'btn btn-small', id: 'usage-refresh', onclick: () => load({ announceIt: true }) }, 'Refresh');
  const body = h('div', { class: 'usage-body', id: 'usage-body', 'aria-busy': 'true' }, h('p', { class: 'muted' }, 'Loading usage…'));

  add(
    main,
    h(
      'div',
      { class: 'section-head usage-head' },
      h(
        'div',
        {},
        h('h1', { class: 'page-title' }, 'Usage'),
        h('p', { class: 'binding', id: 'usage-scope' }, scopeNote(ws), ' ', h('strong', {}, ws.name), ` (${ws.type === 'team' ? 'Team' : 'Personal'}, ${ctx.planLabel(ws.plan)})`),
      ),
      h('div', { class: 'usage-controls' }, rangeControl, refresh),
    ),
    period,
    ws.api_access ? null : upgradeCallout(ws, ctx),
    body,
  );

  async function load({ announceIt = false } = {}) {
    const mine = ++seq;
    const { start, end } = rangeFor(days);
    period.textContent = `${dayMedium.format(toDate(start))} – ${dayMedium.format(toDate(end))} · dates in UTC`;
    body.setAttribute('aria-busy', 'true');
    body.classList.add('loading');
    let answers;
    try {
      answers = await Promise.all(['day', 'token', 'bot'].map((group_by) => fetchUsage({ start, end, group_by })));
    } catch (err) {
      if (mine !== seq || !main.isConnected) return;
      done();
      if (err instanceof ApiError && err.code === 'not_signed_in') {
        ctx.handleError(err);
        return;
      }
      showError(err);
      return;
    }
    if (mine !== seq || !main.isConnected) return;
    done();
    show(answers);
    if (announceIt) {
      const t = answers[0].totals || {};
      ctx.announce(`Usage for the last ${days} days: ${plural(t.requests, 'request')}, ${plural(t.messages, 'message')}.`);
    }
  }

  function done() {
    body.setAttribute('aria-busy', 'false');
    body.classList.remove('loading');
  }

  function showError(err) {
    add(
      clear(body),
      h(
        'div',
        { class: 'form-error usage-error', id: 'usage-error', role: 'alert' },
        h('p', {}, `Usage could not be loaded: ${err.message}`),
        err.status ? h('p', { class: 'error-code' }, `${err.status} ${err.code}`) : null,
        h('button', { type: 'button', class: 'btn btn-small', onclick: () => load() }, 'Try again'),
      ),
    );
  }

  function show([byDay, byToken, byBot]) {
    const totals = byDay.totals || {};
    // Focus inside the old content (Try again, the table toggle) moves to
    // its counterpart, never to the page's top.
    const refocus = body.contains(document.activeElement);
    clear(body);
    add(body, totalsEl(totals));
    if (!totals.requests) {
      add(
        body,
        h(
          'div',
          { class: 'empty', id: 'usage-empty' },
          h('p', {}, 'No API requests in this period.'),
          ws.api_access
            ? h(
                'p',
                { class: 'muted' },
                'Requests made with a Personal Access Token bound to ',
                h('strong', {}, ws.name),
                ' appear here within a few seconds. ',
                ctx.link('/settings/tokens', 'Manage API tokens'),
              )
            : null,
        ),
      );
      if (refocus) refresh.focus();
      return;
    }
    const tableId = 'usage-day-table-wrap';
    const toggle = h('button', { type: 'button', class: 'btn btn-small btn-ghost', id: 'usage-table-toggle', 'aria-expanded': String(tableOpen), 'aria-controls': tableId }, tableOpen ? 'Hide data table' : 'Show data table');
    const tableWrap = h('div', { class: 'table-wrap usage-day-wrap', id: tableId, hidden: !tableOpen }, dayTable(byDay.data));
    // The chart is drawn at the box's width (its text stays legible on a
    // phone) and again when the width changes.
    const chartBox = h('div', { class: 'chart-box' });
    let drawnAt = 0;
    const draw = () => {
      const w = Math.round(chartBox.clientWidth) || 960;
      if (w === drawnAt) return;
      drawnAt = w;
      const width = Math.max(280, w);
      add(clear(chartBox), usageChart(byDay.data, { width, height: width < 600 ? 220 : 260 }));
    };
    draw();
    if (resizeObs) resizeObs.disconnect();
    resizeObs = typeof ResizeObserver === 'function' ? new ResizeObserver(() => (main.isConnected ? draw() : resizeObs.disconnect())) : null;
    if (resizeObs) resizeObs.observe(chartBox);
    toggle.addEventListener('click', () => {
      tableOpen = !tableOpen;
      tableWrap.hidden = !tableOpen;
      toggle.setAttribute('aria-expanded', String(tableOpen));
      toggle.textContent = tableOpen ? 'Hide data table' : 'Show data table';
    });
    if (refocus) setTimeout(() => toggle.focus(), 0);
    add(
      body,
      h(
        'section',
        { class: 'card usage-chart-card', 'aria-labelledby': 'usage-chart-heading' },
        h(
          'div',
          { class: 'chart-head' },
          h('h2', { id: 'usage-chart-heading' }, 'Requests and messages per day'),
          h(
            'ul',
            { class: 'chart-legend', 'aria-hidden': 'true' },
            h('li', {}, h('span', { class: 'swatch swatch-requests' }), 'Requests'),
            h('li', {}, h('span', { class: 'swatch swatch-messages' }), 'Messages'),
          ),
        ),
        chartBox,
        h('div', { class: 'chart-foot' }, toggle),
        tableWrap,
      ),
      h(
        'div',
        { class: 'usage-breakdowns' },
        h('section', { class: 'card', 'aria-labelledby': 'usage-token-heading' }, h('h2', { id: 'usage-token-heading' }, 'By token'), breakdownTable('token', byToken, totals.requests)),
        h('section', { class: 'card', 'aria-labelledby': 'usage-bot-heading' }, h('h2', { id: 'usage-bot-heading' }, 'By bot'), breakdownTable('bot', byBot, totals.requests)),
      ),
    );
  }

  load();
}
