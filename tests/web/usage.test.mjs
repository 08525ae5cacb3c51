// The Usage page in a real browser against the real system: real API calls
// with tokens made through the in-app API, then the page's totals, chart,
// data table and breakdowns by token and by bot; the range control (mouse
// and keyboard); workspace switching; the free plan's upgrade hint; a team
// viewer's own usage; errors shown plainly. One test feeds the page a fixed
// answer of the documented shape (docs/internals.md, "Usage analytics") to
// check the rendering of cases real data cannot reach quickly (many days,
// deleted tokens).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { System, launchBrowser, newPage, signIn, switchTo, shot, callApi, poll } from './system.mjs';

const sys = new System();
let browser;
const pages = [];
const DAY = 86400000;
const utcDay = (ms) => new Date(ms).toISOString().slice(0, 10);

async function userPage(email) {
  const p = await newPage(browser, sys);
  pages.push(p.page);
  await signIn(p.page, email);
  return p;
}

// A token created through the in-app API (session cookie + X-CSRF-Token).
async function createToken(page, body) {
  const s = await page.request.get('/app/api/session');
  assert.equal(s.status(), 200);
  const { csrf_token: csrf } = await s.json();
  const r = await page.request.post('/app/api/tokens', { data: { expires_in_days: 30, ...body }, headers: { 'X-CSRF-Token': csrf } });
  assert.equal(r.status(), 201, await r.text());
  const j = await r.json();
  assert.match(j.secret, /^pgs_/);
  return j.secret;
}

async function expectStatus(path, token, status, init) {
  const r = await callApi(sys, path, token, init);
  assert.equal(r.status, status, `${init?.method || 'GET'} ${path}: ${JSON.stringify(r.body)}`);
  return r.body;
}

const jsonPost = (body) => ({ method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });

const statValue = (page, id) => page.$eval(`#${id} .stat-value`, (e) => e.textContent.trim());
const bars = (page) => page.$$eval('#usage-chart .bar-requests', (els) => els.map((e) => ({ date: e.closest('.day').dataset.date, v: Number(e.dataset.value) })));

// Breakdown rows: [{label, requests, messages, input, output, errors}]
async function breakdown(page, kind) {
  return page.$$eval(`#usage-by-${kind} tbody tr`, (trs) =>
    trs.map((tr) => {
      const c = [...tr.children].map((x) => x.textContent.trim());
      const n = (s) => Number(s.replace(/,/g, ''));
      return { label: tr.querySelector('th .usage-label, th code').textContent.trim(), requests: n(c[1]), messages: n(c[3]), input: n(c[4]), output: n(c[5]), errors: n(c[6]) };
    }),
  );
}

async function openUsage(page) {
  await page.click('nav.main-nav >> text=Usage');
  await page.waitForURL(/\/usage$/);
  await page.waitForSelector('#usage-body[aria-busy=false]');
}

// Clicks Refresh until the totals show `requests` (events reach the
// aggregates within ~2 s).
// Waits until the page shows `requests` in its totals and in each breakdown
// it shows: the page asks for days, tokens and bots in three requests, and
// events counted between them would make one refresh disagree with itself.
async function waitForRequests(page, requests, desc) {
  await poll(
    async () => {
      await page.click('#usage-refresh');
      await page.waitForSelector('#usage-body[aria-busy=false]');
      if ((await statValue(page, 'usage-total-requests')) !== String(requests)) return false;
      for (const kind of ['token', 'bot']) {
        const rows = await breakdown(page, kind);
        if (rows.length && rows.reduce((a, r) => a + r.requests, 0) !== requests) return false;
      }
      return true;
    },
    { timeout: 15000, interval: 400, desc },
  );
}

before(async () => {
  await sys.start();
  browser = await launchBrowser();
});

after(async () => {
  if (browser) await browser.close();
  await sys.stop();
});

describe('usage page', () => {
  let alice;
  let sendUsage; // {input, output} summed over the two chat replies
  const TODAY = utcDay(Date.now());

  test('real API calls show up: totals, one bar per day, the by-token and by-bot tables', async () => {
    alice = await userPage('alice@example.com');
    const { page } = alice;
    // Before any API call: the empty state, zeros.
    await openUsage(page);
    assert.equal(await page.getAttribute('nav.main-nav >> text=Usage', 'aria-current'), 'page');
    assert.equal(await page.textContent('h1.page-title'), 'Usage');
    await page.waitForSelector('#usage-empty');
    assert.match(await page.textContent('#usage-empty'), /No API requests in this period\./);
    assert.equal(await statValue(page, 'usage-total-requests'), '0');
    assert.equal(await page.$('#usage-blocker'), null, 'a Pro workspace sees no upgrade hint');
    await shot(page, 'usage-01-empty');

    // Two tokens of Alice's Personal (Pro) workspace, through the in-app API.
    const client = await createToken(page, {
      name: 'Usage test client',
      scopes: ['profile:read', 'models:read', 'bots:read', 'bots:write', 'conversations:write', 'chat:send'],
    });
    const reporting = await createToken(page, { name: 'Usage reporting', preset: 'read_only' });

    // 12 requests with the client token: 2 messages, 1 error (403).
    for (let i = 0; i < 3; i++) await expectStatus('/v1/me', client, 200);
    await expectStatus('/v1/models', client, 200);
    const bot = await expectStatus('/v1/bots', client, 201, jsonPost({ name: 'Support bot', model: 'pegasus-lite', description: 'Answers from the handbook' }));
    await expectStatus(`/v1/bots/${bot.id}/documents`, client, 201, jsonPost({ title: 'Handbook', content: 'Pegasus answers questions about opening hours. The office opens at nine and closes at five.' }));
    await expectStatus(`/v1/bots/${bot.id}`, client, 200);
    await expectStatus(`/v1/bots/${bot.id}`, client, 200);
    const conv = await expectStatus('/v1/conversations', client, 201, jsonPost({ bot_id: bot.id, title: 'Hours' }));
    sendUsage = { input: 0, output: 0 };
    for (const q of ['When does the office open?', 'When does it close?']) {
      const m = await expectStatus(`/v1/conversations/${conv.id}/messages`, client, 200, jsonPost({ content: q }));
      sendUsage.input += m.usage.input_tokens;
      sendUsage.output += m.usage.output_tokens;
    }
    await expectStatus('/v1/usage', client, 403); // no usage:read: refused, still counted
    // 3 with the reporting token.
    await expectStatus('/v1/me', reporting, 200);
    await expectStatus('/v1/me', reporting, 200);
    const api = await expectStatus('/v1/usage', reporting, 200);
    assert.equal(api.object, 'usage');
    // An unknown token fails check 1: never counted.
    await expectStatus('/v1/me', 'pgs_' + 'x'.repeat(38), 401);

    await waitForRequests(page, 15, 'the totals to show 15 requests');
    assert.equal(await statValue(page, 'usage-total-messages'), '2');
    assert.equal(await statValue(page, 'usage-total-errors'), '1');
    assert.equal(await statValue(page, 'usage-total-input'), String(sendUsage.input).replace(/\B(?=(\d{3})+(?!\d))/g, ','));
    assert.equal(await statValue(page, 'usage-total-output'), String(sendUsage.output).replace(/\B(?=(\d{3})+(?!\d))/g, ','));
    assert.equal(await page.$('#usage-empty'), null);

    // The chart: 30 days by default, one bar and one messages point per day, oldest first, today last.
    const b = await bars(page);
    assert.equal(b.length, 30);
    assert.equal(await page.$$eval('#usage-chart .dot-messages', (e) => e.length), 30);
    assert.equal(await page.getAttribute('#usage-chart', 'data-days'), '30');
    assert.equal(b[29].date, TODAY);
    assert.equal(b[0].date, utcDay(Date.parse(TODAY) - 29 * DAY));
    assert.equal(b.reduce((a, x) => a + x.v, 0), 15);
    assert.equal(b[29].v, 15, 'every call was today');
    // Accessible text: the chart is an image with a title and a summary.
    assert.equal(await page.getAttribute('#usage-chart', 'role'), 'img');
    const label = await page.evaluate(() => {
      const svg = document.getElementById('usage-chart');
      return svg.getAttribute('aria-labelledby').split(' ').map((id) => document.getElementById(id).textContent).join(' ');
    });
    assert.match(label, /Requests and messages per day/);
    assert.match(label, /30 days .*15 requests and 2 messages/);

    // By token: most requests first, names and counts.
    const tokens = await breakdown(page, 'token');
    assert.deepEqual(
      tokens.map((t) => [t.label, t.requests, t.messages, t.errors]),
      [
        ['Usage test client', 12, 2, 1],
        ['Usage reporting', 3, 0, 0],
      ],
    );
    assert.equal(tokens[0].input, sendUsage.input);
    assert.equal(tokens[0].output, sendUsage.output);
    // By bot: the bot by name (its GETs and the two sends at least), and "No bot".
    const bots = await breakdown(page, 'bot');
    const support = bots.find((x) => x.label === 'Support bot');
    assert.ok(support, JSON.stringify(bots));
    assert.ok(support.requests >= 4, `Support bot has ${support.requests} requests`);
    assert.equal(support.messages, 2);
    assert.ok(bots.some((x) => x.label === 'No bot'), JSON.stringify(bots));
    assert.equal(bots.reduce((a, x) => a + x.requests, 0), 15);
    for (let i = 1; i < bots.length; i++) assert.ok(bots[i - 1].requests >= bots[i].requests, 'most requests first');
    await shot(page, 'usage-02-page');
  });

  test('the page matches GET /app/api/usage; the data table holds the chart\'s numbers', async () => {
    const { page } = alice;
    const start = utcDay(Date.parse(TODAY) - 29 * DAY);
    const r = await page.request.get(`/app/api/usage?start=${start}&end=${TODAY}&group_by=day`);
    assert.equal(r.status(), 200);
    const day = await r.json();
    assert.equal(day.object, 'usage');
    assert.equal(day.group_by, 'day');
    assert.equal(day.start, start);
    assert.equal(day.end, TODAY);
    assert.equal(day.data.length, 30);
    assert.equal(day.totals.requests, 15);
    // Toggle the table (a real button with aria-expanded).
    assert.equal(await page.isVisible('#usage-day-table'), false);
    assert.equal(await page.getAttribute('#usage-table-toggle', 'aria-expanded'), 'false');
    await page.click('#usage-table-toggle');
    assert.equal(await page.getAttribute('#usage-table-toggle', 'aria-expanded'), 'true');
    await page.waitForSelector('#usage-day-table', { state: 'visible' });
    const rows = await page.$$eval('#usage-day-table tbody tr', (trs) => trs.map((tr) => [tr.dataset.date, Number(tr.children[1].textContent.replace(/,/g, '')), Number(tr.children[2].textContent.replace(/,/g, ''))]));
    assert.equal(rows.length, 30);
    // Newest first in the table; the same numbers as the API's day rows.
    assert.deepEqual(rows, day.data.map((d) => [d.key, d.requests, d.messages]).reverse());
    await page.locator('#usage-day-table').scrollIntoViewIfNeeded();
    await shot(page, 'usage-03-data-table');
    await page.click('#usage-table-toggle');
    assert.equal(await page.isVisible('#usage-day-table'), false);
    // The token rows match group_by=token.
    const t = await (await page.request.get(`/app/api/usage?start=${start}&end=${TODAY}&group_by=token`)).json();
    assert.deepEqual((await breakdown(page, 'token')).map((x) => [x.label, x.requests]), t.data.map((d) => [d.label, d.requests]));
    const bt = await (await page.request.get(`/app/api/usage?start=${start}&end=${TODAY}&group_by=bot`)).json();
    const none = bt.data.find((d) => d.key === null);
    assert.ok(none, 'the bot grouping has a row with key null');
    assert.equal(none.label, 'No bot');
  });

  test('the range control: 7 / 30 / 90 days, by mouse and by keyboard, kept in the address', async () => {
    const { page } = alice;
    const requested = [];
    const onReq = (r) => {
      const u = new URL(r.url());
      if (u.pathname === '/app/api/usage') requested.push(Object.fromEntries(u.searchParams));
    };
    page.on('request', onReq);
    try {
      assert.equal(await page.isChecked('#usage-range-30'), true, '30 days by default');
      await page.click('label[for=usage-range-7]');
      await page.waitForFunction(() => document.querySelectorAll('#usage-chart .bar-requests').length === 7);
      await page.waitForSelector('#usage-body[aria-busy=false]');
      assert.match(page.url(), /\/usage\?days=7$/);
      assert.equal((await bars(page)).at(-1).date, TODAY);
      assert.equal(await statValue(page, 'usage-total-requests'), '15');
      const last = requested.filter((q) => q.group_by === 'day').at(-1);
      assert.deepEqual(last, { start: utcDay(Date.parse(TODAY) - 6 * DAY), end: TODAY, group_by: 'day' });
      assert.deepEqual(new Set(requested.slice(-3).map((q) => q.group_by)), new Set(['day', 'token', 'bot']));
      assert.match(await page.textContent('#usage-period'), /UTC/);
      await shot(page, 'usage-04-7-days');

      // Keyboard: Tab reaches the checked radio; arrows move the choice.
      await page.focus('#usage-refresh');
      await page.keyboard.press('Shift+Tab');
      assert.equal(await page.evaluate(() => document.activeElement.id), 'usage-range-7');
      await page.keyboard.press('ArrowRight');
      await page.waitForFunction(() => document.querySelectorAll('#usage-chart .bar-requests').length === 30);
      assert.equal(await page.isChecked('#usage-range-30'), true);
      await page.keyboard.press('ArrowRight');
      await page.waitForFunction(() => document.querySelectorAll('#usage-chart .bar-requests').length === 90);
      await page.waitForSelector('#usage-body[aria-busy=false]');
      assert.equal(await page.isChecked('#usage-range-90'), true);
      assert.match(page.url(), /\/usage\?days=90$/);
      assert.equal(await page.evaluate(() => document.activeElement.id), 'usage-range-90', 'focus stays on the control');
      const b = await bars(page);
      assert.equal(b[0].date, utcDay(Date.parse(TODAY) - 89 * DAY));
      assert.equal(b.reduce((a, x) => a + x.v, 0), 15);
      // The focus ring is visible on the segmented control.
      const outline = await page.$eval('label[for=usage-range-90] .seg-text', (e) => getComputedStyle(e).outlineStyle);
      assert.equal(outline, 'solid');
      await shot(page, 'usage-05-90-days-keyboard', { fullPage: false });
      // A reload keeps the range.
      await page.reload();
      await page.waitForSelector('#usage-body[aria-busy=false]');
      assert.equal(await page.isChecked('#usage-range-90'), true);
      assert.equal((await bars(page)).length, 90);
      await page.goto('/usage');
      await page.waitForSelector('#usage-body[aria-busy=false]');
      assert.equal(await page.isChecked('#usage-range-30'), true);
    } finally {
      page.off('request', onReq);
    }
  });

  test('switching workspace reloads the page for that workspace', async () => {
    const { page } = alice;
    await page.click('#ws-button');
    await page.locator('.ws-item', { hasText: 'Acme' }).click();
    await page.waitForFunction(() => document.querySelector('#ws-button .ws-name')?.textContent === 'Acme');
    assert.match(page.url(), /\/usage$/);
    await page.waitForSelector('#usage-body[aria-busy=false]');
    await page.waitForSelector('#usage-empty');
    assert.equal(await statValue(page, 'usage-total-requests'), '0');
    assert.match(await page.textContent('#usage-scope'), /every member's tokens in Acme/);
    assert.match(await page.textContent('#usage-scope'), /Acme \(Team, Ultra\)/);
    // And back.
    await page.click('#ws-button');
    await page.locator('.ws-item', { hasText: 'Personal' }).click();
    await page.waitForFunction(() => document.querySelector('#ws-button .ws-name')?.textContent === 'Personal');
    await page.waitForSelector('#usage-body[aria-busy=false]');
    assert.equal(await statValue(page, 'usage-total-requests'), '15');
  });

  test('team: a viewer sees only their own usage, the owner sees the whole team', async () => {
    const carol = await userPage('carol@example.com');
    await switchTo(carol.page, 'Acme');
    const secret = await createToken(carol.page, { name: 'Carol reports', preset: 'read_only' });
    await expectStatus('/v1/me', secret, 200);
    await expectStatus('/v1/subscription', secret, 200);
    await openUsage(carol.page);
    await waitForRequests(carol.page, 2, 'Carol to see her 2 requests');
    assert.match(await carol.page.textContent('#usage-scope'), /Your own API requests in Acme/);
    assert.deepEqual((await breakdown(carol.page, 'token')).map((x) => [x.label, x.requests]), [['Carol reports', 2]]);
    // Alice (owner) in Acme: a request of her own too; she sees both.
    const { page } = alice;
    await switchToOnUsage(page, 'Acme');
    const mine = await createToken(page, { name: 'Acme owner client', preset: 'read_only' });
    for (let i = 0; i < 3; i++) await expectStatus('/v1/me', mine, 200);
    await waitForRequests(page, 5, 'the owner to see the team\'s 5 requests');
    assert.deepEqual((await breakdown(page, 'token')).map((x) => [x.label, x.requests]), [['Acme owner client', 3], ['Carol reports', 2]]);
    // Carol still sees only hers.
    await waitForRequests(carol.page, 2, 'Carol still to see 2');
    await shot(page, 'usage-06-team-owner');
    await switchToOnUsage(page, 'Personal');
  });

  test('a free workspace shows "Upgrade to use the API" and zeros', async () => {
    const { page } = await userPage('bob@example.com');
    await openUsage(page);
    assert.match(await page.textContent('#ws-button'), /Personal.*Free/s);
    assert.equal(await page.textContent('#usage-blocker h3'), 'Upgrade to use the API');
    assert.equal(await page.getAttribute('#usage-blocker', 'data-reason'), 'upgrade_required');
    assert.equal(await statValue(page, 'usage-total-requests'), '0');
    await page.waitForSelector('#usage-empty');
    await shot(page, 'usage-07-free');
  });

  test('errors from the API are shown plainly, and Try again recovers', async () => {
    const { page } = alice;
    await page.route('**/app/api/usage?*', (route) =>
      route.fulfill({
        status: 503,
        contentType: 'application/json',
        headers: { 'Retry-After': '1' },
        body: JSON.stringify({ error: { code: 'service_unavailable', message: 'The usage service is not available right now. Try again in a moment.', request_id: 'req_test' } }),
      }),
    );
    try {
      await page.click('#usage-refresh');
      await page.waitForSelector('#usage-error');
      const text = await page.textContent('#usage-error');
      assert.match(text, /Usage could not be loaded: The usage service is not available right now\. Try again in a moment\./);
      assert.match(text, /503 service_unavailable/);
      assert.equal(await page.getAttribute('#usage-error', 'role'), 'alert');
      await shot(page, 'usage-08-error');
    } finally {
      await page.unroute('**/app/api/usage?*');
      // The console's notes of these three 503s are this test's own doing.
      page.problems = page.problems.filter((t) => !/status of 503/.test(t));
    }
    await page.locator('#usage-error').getByRole('button', { name: 'Try again' }).click();
    await page.waitForSelector('#usage-totals');
    assert.equal(await statValue(page, 'usage-total-requests'), '15');
  });

  test('the session ending on the page leads to sign-in and back', async () => {
    const p = await userPage('alice@example.com');
    await p.page.goto('/usage?days=7');
    await p.page.waitForSelector('#usage-body[aria-busy=false]');
    await p.context.clearCookies();
    await p.page.click('#usage-refresh');
    await p.page.waitForURL(/\/signin\?next=%2Fusage/);
    await p.page.fill('#signin-email', 'alice@example.com');
    await p.page.fill('#signin-password', 'pegasus-demo');
    await p.page.click('form.signin-form button[type=submit]');
    await p.page.waitForURL(/\/usage$/);
    await p.page.waitForSelector('#usage-body[aria-busy=false]');
  });

  test('the documented answer shape renders: 90 days, deleted token ids, "No bot", number formats', async () => {
    const p = await userPage('alice@example.com');
    const { page } = p;
    await page.route('**/app/api/usage?*', (route) => route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify(fixture(new URL(route.request().url()))) }));
    await page.goto('/usage?days=90');
    await page.waitForSelector('#usage-body[aria-busy=false]');
    assert.equal((await bars(page)).length, 90);
    const t = fixture(new URL(`${sys.url}/app/api/usage?start=${utcDay(Date.parse(TODAY) - 89 * DAY)}&end=${TODAY}&group_by=day`)).totals;
    assert.equal(await statValue(page, 'usage-total-requests'), t.requests.toLocaleString('en'));
    const tokens = await breakdown(page, 'token');
    assert.deepEqual(tokens.map((x) => x.label), ['Production API client', 'Nightly reports', 'tok_8Hq2deleted']);
    assert.match(await page.locator('#usage-by-token tr', { hasText: 'tok_8Hq2deleted' }).innerText(), /Deleted token/);
    const bots = await breakdown(page, 'bot');
    assert.deepEqual(bots.map((x) => x.label), ['Support bot', 'No bot', 'Sales FAQ']);
    assert.equal(await page.$$eval('#usage-by-bot .usage-row-none', (e) => e.length), 1);
    // The busiest day's bar is the tallest one.
    const heights = await page.$$eval('#usage-chart .bar-requests', (els) => els.map((e) => Number(e.getAttribute('height'))));
    const values = (await bars(page)).map((x) => x.v);
    assert.equal(heights.indexOf(Math.max(...heights)), values.indexOf(Math.max(...values)));
    // Hovering a day shows its numbers (an SVG <title>).
    assert.match(await page.$eval('#usage-chart .day:last-of-type title', (e) => e.textContent), /requests?, \d+ messages?/);
    await shot(page, 'usage-09-fixture-90-days');
    await page.click('label[for=usage-range-30]');
    await page.waitForFunction(() => document.querySelectorAll('#usage-chart .bar-requests').length === 30);
    await shot(page, 'usage-10-fixture-30-days');
    await page.setViewportSize({ width: 420, height: 900 });
    await shot(page, 'usage-11-fixture-narrow');
    await page.unroute('**/app/api/usage?*');
  });

  test('no page error or CSP violation on any page', async () => {
    for (const page of pages) assert.deepEqual(page.problems, []);
  });
});

async function switchToOnUsage(page, name) {
  await page.click('#ws-button');
  await page.locator('.ws-item', { hasText: name }).click();
  await page.waitForFunction((n) => document.querySelector('#ws-button .ws-name')?.textContent === n, name);
  await page.waitForSelector('#usage-body[aria-busy=false]');
}

// An answer of the documented shape for any range and grouping: a weekday
// rhythm with a spike, a deleted token (its id as label), "No bot".
function fixture(url) {
  const start = url.searchParams.get('start');
  const end = url.searchParams.get('end');
  const group = url.searchParams.get('group_by') || 'day';
  const days = [];
  for (let t = Date.parse(start); t <= Date.parse(end); t += DAY) days.push(utcDay(t));
  const day = days.map((key) => {
    const d = new Date(key + 'T00:00:00Z');
    const idx = Math.floor(d.getTime() / DAY);
    const weekend = d.getUTCDay() === 0 || d.getUTCDay() === 6;
    const requests = weekend ? (idx % 3) * 4 : 180 + ((idx * 37) % 90) + (idx % 17 === 0 ? 640 : 0);
    const messages = Math.round(requests * 0.28);
    return { key, label: key, requests, messages, input_tokens: messages * 212, output_tokens: messages * 486, errors: requests ? idx % 4 : 0 };
  });
  const totals = day.reduce(
    (a, r) => {
      for (const k of Object.keys(a)) a[k] += r[k];
      return a;
    },
    { requests: 0, messages: 0, input_tokens: 0, output_tokens: 0, errors: 0 },
  );
  const split = (shares, rows) =>
    rows.map(([key, label], i) => {
      const f = shares[i];
      return {
        key,
        label,
        requests: Math.round(totals.requests * f),
        messages: Math.round(totals.messages * f),
        input_tokens: Math.round(totals.input_tokens * f),
        output_tokens: Math.round(totals.output_tokens * f),
        errors: Math.round(totals.errors * f),
      };
    });
  let data = day;
  if (group === 'token') {
    data = split([0.71, 0.22, 0.07], [['tok_prod', 'Production API client'], ['tok_nightly', 'Nightly reports'], ['tok_8Hq2deleted', 'tok_8Hq2deleted']]);
  } else if (group === 'bot') {
    data = split([0.55, 0.3, 0.15], [['bot_support', 'Support bot'], [null, 'No bot'], ['bot_sales', 'Sales FAQ']]);
  }
  return { object: 'usage', start, end, group_by: group, data, totals };
}
