// The web app in a real browser (Debian chromium, headless) against the real
// system: sign-in, Settings → API Tokens, the create dialog and its presets,
// the show-once view, revoke, plan and team states, keyboard use, API docs.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { System, launchBrowser, newPage, signIn, switchTo, shot, callApi, poll } from './system.mjs';

const PRESETS = {
  chat: ['conversations:read', 'conversations:write', 'chat:send'],
  read_only: ['profile:read', 'subscription:read', 'models:read', 'bots:read', 'usage:read'],
  bot_management: ['bots:read', 'bots:write', 'models:read', 'profile:read'],
};
const LABELS = [
  'Read your profile',
  'Read your subscription',
  'Read available models',
  'Read bots & documents',
  'Create, update, delete bots',
  'Read API conversations',
  'Create, delete API conversations',
  'Send chat messages',
  'Read usage analytics',
];
const WRITE = new Set(['bots:write', 'conversations:write', 'chat:send']);
const sorted = (a) => [...a].sort();

const sys = new System();
let browser;
const pages = [];
const secrets = []; // every secret seen, to check none ever shows up again

async function userPage(email) {
  const p = await newPage(browser, sys);
  pages.push(p.page);
  await signIn(p.page, email);
  return p;
}

async function checkedScopes(page) {
  return page.$$eval('input[name=scopes]:checked', (els) => els.map((e) => e.value));
}

// Creates a token through the dialog and returns {secret, token id, row}.
async function createWithPreset(page, name, preset, screenshot) {
  await page.click('#create-token');
  await page.waitForSelector('dialog[open] #token-name');
  await page.fill('#token-name', name);
  await page.click(`[data-preset=${preset}]`);
  assert.deepEqual(sorted(await checkedScopes(page)), sorted(PRESETS[preset]), `preset ${preset} ticks its scopes`);
  assert.equal(await page.getAttribute(`[data-preset=${preset}]`, 'aria-pressed'), 'true');
  if (screenshot) {
    await shot(page, screenshot);
    await page.locator('#scopes-note').scrollIntoViewIfNeeded();
    await shot(page, `${screenshot}-bottom`);
  }
  const [resp] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith('/app/api/tokens') && r.request().method() === 'POST'),
    page.click('#create-token-submit'),
  ]);
  assert.equal(resp.status(), 201);
  assert.match(resp.headers()['cache-control'], /no-store/, 'the create response is not cached');
  const secret = (await page.textContent('#token-secret')).trim();
  assert.match(secret, /^pgs_[0-9A-Za-z]{38}$/);
  secrets.push(secret);
  return secret;
}

async function closeShowOnce(page, how = 'button') {
  if (how === 'escape') await page.keyboard.press('Escape');
  else await page.click('#close-token');
  await page.waitForSelector('dialog', { state: 'detached' });
}

async function assertNoSecretsOnPage(page) {
  const html = await page.content();
  const text = await page.evaluate(() => document.body.innerText);
  for (const s of secrets) {
    assert.ok(!html.includes(s), 'the secret is gone from the DOM');
    assert.ok(!text.includes(s), 'the secret is gone from the page text');
  }
}

async function listApi(page) {
  const r = await page.request.get('/app/api/tokens');
  assert.equal(r.status(), 200);
  assert.match(r.headers()['cache-control'], /no-store/, 'the token list is not cached');
  const text = await r.text();
  for (const s of secrets) assert.ok(!text.includes(s), 'the list API never contains a secret');
  return JSON.parse(text);
}

before(async () => {
  await sys.start();
  browser = await launchBrowser();
});

after(async () => {
  if (browser) await browser.close();
  await sys.stop();
});

describe('web app', () => {
  let alice; // {context, page}

  test('sign-in: wrong password is refused, the right one opens Settings → API Tokens', async () => {
    const { page, context } = await newPage(browser, sys);
    pages.push(page);
    await page.goto('/');
    await page.waitForURL(/\/signin/);
    await page.waitForSelector('#signin-email');
    await shot(page, '01-sign-in');
    await page.fill('#signin-email', 'alice@example.com');
    await page.fill('#signin-password', 'wrong-password');
    await page.click('form.signin-form button[type=submit]');
    await page.waitForSelector('#signin-error:not(:empty)');
    assert.match(await page.textContent('#signin-error'), /Incorrect email or password/);
    await page.fill('#signin-password', 'pegasus-demo');
    await page.click('form.signin-form button[type=submit]');
    await page.waitForURL(/\/settings\/tokens$/);
    await page.waitForSelector('#token-list[aria-busy=false]');
    assert.equal(await page.textContent('#tab-tokens'), 'API Tokens');
    assert.equal(await page.getAttribute('#tab-tokens', 'aria-current'), 'page');
    assert.match(await page.textContent('.user'), /Alice Adams/);
    // Session cookie flags (SPEC §4): HttpOnly, SameSite=Strict; not Secure over plain http.
    const cookie = (await context.cookies()).find((c) => c.name === 'pegasus_session');
    assert.ok(cookie, 'session cookie set');
    assert.equal(cookie.httpOnly, true);
    assert.equal(cookie.sameSite, 'Strict');
    assert.equal(await page.evaluate(() => document.cookie.includes('pegasus_session')), false, 'scripts cannot read the session');
    // The page itself: CSP without inline scripts.
    const r = await page.request.get('/settings/tokens');
    const csp = r.headers()['content-security-policy'];
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.ok(!/unsafe-inline[^;]*;/.test(csp.split('script-src')[1].split(';')[0]), 'no inline scripts allowed');
    alice = { page, context };
  });

  test('header: user, active workspace, and a switcher showing each workspace with its plan', async () => {
    const { page } = alice;
    assert.match(await page.textContent('#ws-button'), /Personal.*Pro/s);
    await page.click('#ws-button');
    await page.waitForSelector('#ws-menu:not([hidden])');
    const items = await page.$$eval('.ws-item', (els) => els.map((e) => e.innerText.replace(/\s+/g, ' ').trim()));
    assert.equal(items.length, 2);
    assert.ok(items.some((t) => /Personal/.test(t) && /Pro/i.test(t)), items.join(' | '));
    assert.ok(items.some((t) => /Acme/.test(t) && /Ultra/i.test(t) && /Owner/.test(t)), items.join(' | '));
    await shot(page, '02-workspace-switcher');
    await page.keyboard.press('Escape');
    await page.waitForSelector('#ws-menu[hidden]', { state: 'attached' });
  });

  test('create a token with each preset; the shown secret works for GET /v1/token with exactly those scopes', async () => {
    const { page } = alice;
    let n = 0;
    for (const preset of Object.keys(PRESETS)) {
      n += 1;
      const name = `Preset ${preset}`;
      const secret = await createWithPreset(page, name, preset, n === 1 ? '03-create-dialog' : null);
      assert.match(await page.textContent('#show-once-warning'), /will not be shown again/);
      if (n === 1) {
        await shot(page, '04-show-once');
        // Copy puts the token on the clipboard.
        await page.click('#copy-token');
        await page.waitForSelector('#copy-status:not(:empty)');
        assert.equal(await page.evaluate(() => navigator.clipboard.readText()), secret);
      }
      const r = await callApi(sys, '/v1/token', secret);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.name, name);
      assert.deepEqual(sorted(r.body.scopes), sorted(PRESETS[preset]));
      assert.equal(r.body.prefix, secret.slice(0, 12));
      assert.equal(r.body.workspace.type, 'personal');
      await closeShowOnce(page, n === 2 ? 'escape' : 'button');
      await assertNoSecretsOnPage(page);
      // The list shows the display prefix, never the secret.
      const row = page.locator('tr.token-row', { hasText: name });
      await row.waitFor();
      assert.match(await row.innerText(), new RegExp(`${secret.slice(0, 12)}…`));
      assert.match(await row.innerText(), /in 30 days/);
      for (const s of PRESETS[preset]) assert.ok((await row.innerText()).includes(s));
    }
    const list = await listApi(page);
    assert.equal(list.object, 'list');
    assert.ok(list.data.length >= 3);
    await shot(page, '05-token-list');
  });

  test('revoke asks for confirmation and the token then fails with 401 token_revoked', async () => {
    const { page } = alice;
    const secret = await createWithPreset(page, 'To be revoked', 'read_only');
    await closeShowOnce(page);
    const row = page.locator('tr.token-row', { hasText: 'To be revoked' });
    assert.equal((await callApi(sys, '/v1/me', secret)).status, 200);
    // Cancel keeps it.
    await row.getByRole('button', { name: /Revoke/ }).click();
    await page.waitForSelector('dialog[open]');
    assert.match(await page.textContent('dialog[open]'), /stop working immediately/);
    await shot(page, '06-revoke-confirm');
    await page.locator('dialog[open]').getByRole('button', { name: 'Cancel' }).click();
    await page.waitForSelector('dialog', { state: 'detached' });
    assert.equal((await callApi(sys, '/v1/token', secret)).status, 200);
    // Confirm revokes it.
    await row.getByRole('button', { name: /Revoke/ }).click();
    const [resp] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'DELETE'),
      page.locator('dialog[open]').getByRole('button', { name: 'Revoke token', exact: true }).click(),
    ]);
    assert.equal(resp.status(), 204);
    await page.locator('tr.token-row.status-revoked', { hasText: 'To be revoked' }).waitFor();
    assert.match(await page.locator('tr.token-row', { hasText: 'To be revoked' }).innerText(), /Revoked/);
    const r = await callApi(sys, '/v1/token', secret);
    assert.equal(r.status, 401);
    assert.equal(r.body.error.code, 'token_revoked');
    await shot(page, '07-revoked');
  });

  test('an expired token is shown as expired', async () => {
    const { page } = alice;
    const secret = await createWithPreset(page, 'Old integration', 'read_only');
    await closeShowOnce(page);
    // No token can be created already expired: move this one's expiry into
    // the past in the auth database (the list reads it from there).
    const id = (await callApi(sys, '/v1/token', secret)).body.id;
    await sys.sql('auth', "UPDATE tokens SET created_at = created_at - 33*86400, expires_at = created_at - 3*86400 WHERE id = ?", id);
    await page.reload();
    const row = page.locator('tr.token-row.status-expired', { hasText: 'Old integration' });
    await row.waitFor();
    assert.match(await row.innerText(), /Expired/);
    assert.match(await row.innerText(), /3 days ago/);
  });

  test('field errors from the API appear next to their field', async () => {
    const { page } = alice;
    await page.click('#create-token');
    await page.waitForSelector('dialog[open] #token-name');
    assert.equal(await page.getAttribute('#token-name', 'placeholder'), 'Production API client');
    // The nine scopes with the seed's labels, the expiry choices, the note.
    const labels = await page.$$eval('.scope-text label', (els) => els.map((e) => e.textContent));
    assert.deepEqual(labels, LABELS);
    const days = await page.$$eval('#token-expiry option', (els) => els.map((e) => e.value));
    assert.deepEqual(days, ['30', '60', '90', '180', '365']);
    assert.match(await page.textContent('#scopes-note'), /Scopes cannot be changed later/);
    // Empty name.
    await page.fill('#token-name', '   ');
    await page.check('#scope-profile-read');
    await page.click('#create-token-submit');
    await page.waitForSelector('#token-name-error:not(:empty)');
    assert.match(await page.textContent('#token-name-error'), /Name must not be empty/);
    assert.equal(await page.getAttribute('#token-name', 'aria-invalid'), 'true');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'token-name');
    // Too long.
    await page.fill('#token-name', 'x'.repeat(65));
    await page.click('#create-token-submit');
    await page.waitForFunction(() => /at most 64/.test(document.querySelector('#token-name-error').textContent));
    // No scopes.
    await page.fill('#token-name', 'No scopes');
    await page.uncheck('#scope-profile-read');
    await page.click('#create-token-submit');
    await page.waitForSelector('#token-scopes-error:not(:empty)');
    assert.equal(await page.textContent('#token-name-error'), '');
    assert.match(await page.textContent('#token-scopes-error'), /scope/i);
    await shot(page, '08-field-errors');
    await page.keyboard.press('Escape');
    await page.waitForSelector('dialog', { state: 'detached' });
  });

  test('keyboard only: create a token; the dialog traps focus and Escape closes it', async () => {
    const { page } = alice;
    await page.goto('/settings/tokens');
    await page.waitForSelector('#token-list[aria-busy=false]');
    const active = () => page.evaluate(() => document.activeElement && (document.activeElement.id || document.activeElement.dataset.preset || document.activeElement.textContent));
    const inDialog = () => page.evaluate(() => !!document.activeElement && !!document.activeElement.closest('dialog[open]'));
    // Tab to the Create token button and open it with Enter.
    for (let i = 0; i < 40 && (await active()) !== 'create-token'; i++) await page.keyboard.press('Tab');
    assert.equal(await active(), 'create-token');
    await page.keyboard.press('Enter');
    await page.waitForSelector('dialog[open]');
    assert.equal(await active(), 'token-name', 'focus starts in the name field');
    // Focus stays inside the dialog both ways.
    for (let i = 0; i < 30; i++) {
      await page.keyboard.press('Tab');
      assert.ok(await inDialog(), `Tab ${i + 1} stays in the dialog`);
    }
    for (let i = 0; i < 30; i++) {
      await page.keyboard.press('Shift+Tab');
      assert.ok(await inDialog(), `Shift+Tab ${i + 1} stays in the dialog`);
    }
    // Escape closes it and focus goes back to the button.
    await page.keyboard.press('Escape');
    await page.waitForSelector('dialog', { state: 'detached' });
    assert.equal(await active(), 'create-token');
    // Now the whole creation with the keyboard.
    await page.keyboard.press('Enter');
    await page.waitForSelector('dialog[open]');
    await page.keyboard.type('Keyboard client');
    for (let i = 0; i < 10 && (await active()) !== 'chat'; i++) await page.keyboard.press('Tab');
    assert.equal(await active(), 'chat');
    await page.keyboard.press('Space');
    assert.deepEqual(sorted(await checkedScopes(page)), sorted(PRESETS.chat));
    await page.keyboard.press('Tab'); // read_only preset
    await page.keyboard.press('Tab'); // bot_management preset
    await page.keyboard.press('Tab'); // first scope checkbox: profile:read
    assert.equal(await active(), 'scope-profile-read');
    await page.keyboard.press('Space');
    for (let i = 0; i < 20 && (await active()) !== 'token-expiry'; i++) await page.keyboard.press('Tab');
    assert.equal(await active(), 'token-expiry');
    await page.keyboard.press('ArrowDown'); // 60 days
    assert.equal(await page.inputValue('#token-expiry'), '60');
    for (let i = 0; i < 10 && (await active()) !== 'create-token-submit'; i++) await page.keyboard.press('Tab');
    assert.equal(await active(), 'create-token-submit');
    await page.keyboard.press('Enter');
    await page.waitForSelector('#token-secret');
    assert.equal(await active(), 'copy-token', 'focus moves to Copy');
    const secret = (await page.textContent('#token-secret')).trim();
    secrets.push(secret);
    const r = await callApi(sys, '/v1/token', secret);
    assert.equal(r.status, 200);
    assert.deepEqual(sorted(r.body.scopes), sorted([...PRESETS.chat, 'profile:read']));
    const days = Math.round((Date.parse(r.body.expires_at) - Date.parse(r.body.created_at)) / 86400000);
    assert.equal(days, 60);
    await page.keyboard.press('Escape');
    await page.waitForSelector('dialog', { state: 'detached' });
    await assertNoSecretsOnPage(page);
    assert.equal(await active(), 'create-token');
  });

  test('a free workspace sees "Upgrade to use the API" instead of the token creator', async () => {
    const { page } = await userPage('bob@example.com');
    assert.match(await page.textContent('#ws-button'), /Personal.*Free/s);
    await page.waitForSelector('#token-blocker');
    assert.match(await page.textContent('#token-blocker h3'), /^Upgrade to use the API$/);
    assert.equal(await page.$('#create-token'), null, 'no create button');
    await shot(page, '09-free-upgrade');
  });

  test('a viewer sees write scopes disabled with the reason and can create a read token', async () => {
    const { page } = await userPage('carol@example.com');
    await switchTo(page, 'Acme');
    await page.waitForSelector('#viewer-note');
    await page.click('#create-token');
    await page.waitForSelector('dialog[open]');
    const states = await page.$$eval('input[name=scopes]', (els) => els.map((e) => [e.value, e.disabled]));
    for (const [id, disabled] of states) assert.equal(disabled, WRITE.has(id), `${id} disabled iff write`);
    assert.match(await page.textContent('dialog[open]'), /Viewers can hold read scopes only/);
    assert.equal(await page.isDisabled('[data-preset=chat]'), true);
    assert.equal(await page.isDisabled('[data-preset=bot_management]'), true);
    await shot(page, '10-viewer-dialog');
    await page.fill('#token-name', 'Carol reports');
    await page.click('[data-preset=read_only]');
    await page.click('#create-token-submit');
    await page.waitForSelector('#token-secret');
    const secret = (await page.textContent('#token-secret')).trim();
    secrets.push(secret);
    const r = await callApi(sys, '/v1/token', secret);
    assert.equal(r.status, 200);
    assert.equal(r.body.workspace.name, 'Acme');
    await closeShowOnce(page);
  });

  test('team: the owner sees every member\'s token with its owner; a member without a seat sees why', async () => {
    const bob = await userPage('bob@example.com');
    await switchTo(bob.page, 'Acme');
    const secret = await createWithPreset(bob.page, 'Bob team bot', 'chat');
    await closeShowOnce(bob.page);
    assert.equal((await callApi(sys, '/v1/token', secret)).status, 200);
    // Alice (owner) sees Bob's and Carol's tokens with the owner column.
    const { page } = alice;
    await switchTo(page, 'Acme');
    await page.locator('tr.token-row', { hasText: 'Bob team bot' }).waitFor();
    const headers = await page.$$eval('table.tokens th', (els) => els.map((e) => e.textContent));
    assert.ok(headers.includes('Owner'));
    assert.match(await page.locator('tr.token-row', { hasText: 'Bob team bot' }).innerText(), /Bob Brown/);
    assert.match(await page.locator('tr.token-row', { hasText: 'Carol reports' }).innerText(), /Carol Chen/);
    await shot(page, '11-team-owner-list');
    // Bob loses his seat.
    await sys.ctl('team', 'member', 'set', '--team', 'Acme', '--email', 'bob@example.com', '--no-seat');
    try {
      await bob.page.reload();
      await bob.page.waitForSelector('#token-blocker');
      assert.equal(await bob.page.getAttribute('#token-blocker', 'data-reason'), 'seat_required');
      assert.match(await bob.page.textContent('#token-blocker'), /seat/);
      assert.equal(await bob.page.$('#create-token'), null);
      await shot(bob.page, '12-no-seat');
      await poll(async () => (await callApi(sys, '/v1/token', secret)).status === 403, { desc: 'seatless token refused' });
    } finally {
      await sys.ctl('team', 'member', 'set', '--team', 'Acme', '--email', 'bob@example.com', '--seat');
    }
  });

  test('a read-only team shows "Team API access is read-only" and no create button', async () => {
    const { page } = alice;
    await sys.ctl('team', 'state', '--team', 'Acme', '--pending-cancellation', 'on');
    try {
      await page.reload();
      await page.waitForSelector('#token-blocker');
      assert.match(await page.textContent('#ws-button'), /Acme/);
      assert.equal(await page.textContent('#token-blocker h3'), 'Team API access is read-only');
      assert.equal(await page.$('#create-token'), null, 'no create button');
      // Existing tokens are still listed and can be revoked.
      await page.locator('tr.token-row', { hasText: 'Bob team bot' }).waitFor();
      await shot(page, '13-read-only-team');
    } finally {
      await sys.ctl('team', 'state', '--team', 'Acme', '--pending-cancellation', 'off');
    }
    await page.reload();
    await page.waitForSelector('#create-token');
  });

  test('API docs: the OpenAPI reference renders and the playground calls the API with a token', async () => {
    const { page } = alice;
    await switchTo(page, 'Personal');
    const secret = await createWithPreset(page, 'Docs playground', 'read_only');
    await closeShowOnce(page);
    await page.click('nav.main-nav >> text=API docs');
    await page.waitForURL(/\/docs$/);
    await page.waitForSelector('#swagger-ui .opblock', { timeout: 20000 });
    const paths = await page.$$eval('#swagger-ui .opblock-summary-path', (els) => els.map((e) => e.textContent.replace(/\u200b/g, '')));
    assert.ok(paths.includes('/v1/token'), paths.join(' '));
    assert.ok(paths.includes('/v1/me'));
    await page.fill('#pg-token', secret);
    await page.selectOption('#pg-op', { label: 'GET /v1/me — ' + (await page.$eval('#pg-op', (s) => [...s.options].find((o) => o.text.startsWith('GET /v1/me ')).text.slice('GET /v1/me — '.length))) });
    assert.equal(await page.inputValue('#pg-path'), '/v1/me');
    await page.click('#pg-send');
    await page.waitForSelector('#pg-status');
    assert.match(await page.textContent('#pg-status'), /^200/);
    const body = JSON.parse(await page.textContent('#pg-response'));
    assert.equal(body.email, 'alice@example.com');
    await shot(page, '14-api-docs');
    // The reference's own "Try it out" uses the same token.
    const op = page.locator('#swagger-ui .opblock-get').filter({ has: page.locator('[data-path="/v1/token"]') }).first();
    await op.locator('.opblock-summary').first().click();
    await op.locator('button.try-out__btn').click();
    await op.locator('button.execute').click();
    const status = op.locator('.live-responses-table .response .response-col_status').first();
    await status.waitFor();
    assert.equal((await status.textContent()).trim(), '200');
    await op.locator('.live-responses-table', { hasText: 'Docs playground' }).waitFor();
    await op.locator('.live-responses-table').scrollIntoViewIfNeeded();
    await shot(page, '15-api-docs-try-it-out', { fullPage: false });
    // Without the scope: the playground shows the API's 403.
    await page.selectOption('#pg-op', { index: await page.$eval('#pg-op', (s) => [...s.options].findIndex((o) => o.text.startsWith('GET /v1/token '))) });
    await page.fill('#pg-token', 'pgs_not_a_real_token');
    await page.click('#pg-send');
    await page.waitForFunction(() => /^401/.test(document.querySelector('#pg-status')?.textContent || ''));
  });

  test('every state change carried X-CSRF-Token; no page error or CSP violation anywhere', async () => {
    let changes = 0;
    for (const page of pages) {
      for (const r of page.requests) {
        if (r.method === 'GET' || r.method === 'HEAD' || !new URL(r.url).pathname.startsWith('/app/api/')) continue;
        if (new URL(r.url).pathname === '/app/api/login') continue;
        changes += 1;
        assert.ok(r.headers['x-csrf-token'], `${r.method} ${r.url} has X-CSRF-Token`);
      }
      assert.deepEqual(page.problems, []);
    }
    assert.ok(changes >= 8, `saw ${changes} state changes`);
  });

  test('sign out ends the session', async () => {
    const { page, context } = alice;
    await page.goto('/settings/tokens');
    await page.waitForSelector('#token-list[aria-busy=false]');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(/\/signin$/);
    const r = await context.request.get(sys.url + '/app/api/session');
    assert.equal(r.status(), 401);
  });
});
