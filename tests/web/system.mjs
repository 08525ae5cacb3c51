// system.mjs — the real Pegasus system (scripts/run.sh, its own
// PEGASUS_HOME, a free port, demo data) and headless Debian chromium driven
// by playwright-core.
import { spawn, execFile } from 'node:child_process';
import { mkdtempSync, mkdirSync, openSync, readFileSync, rmSync, closeSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { chromium } from 'playwright-core';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const OUT = join(ROOT, 'build', 'web-test-output');
export const PASSWORD = 'pegasus-demo';
const CHROMIUM = process.env.PEGASUS_CHROMIUM || '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const run = promisify(execFile);

function freePort() {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => res(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export async function poll(fn, { timeout = 15000, interval = 100, desc = 'condition' } = {}) {
  const end = Date.now() + timeout;
  let last;
  while (Date.now() < end) {
    try {
      last = await fn();
      if (last) return last;
    } catch (err) {
      last = err;
    }
    await sleep(interval);
  }
  throw new Error(`timed out waiting for ${desc} (last: ${last})`);
}

export class System {
  async start() {
    this.home = mkdtempSync(join(tmpdir(), 'pgs-web-'));
    this.port = await freePort();
    this.url = `http://127.0.0.1:${this.port}`;
    this.logPath = join(this.home, 'run.out');
    const env = {};
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('PEGASUS_') || k === 'PEGASUS_BUILD') env[k] = v;
    Object.assign(env, {
      PEGASUS_HOME: this.home,
      PEGASUS_PORT: String(this.port),
      PEGASUS_DEMO: '1',
      PEGASUS_CONFIG: join(ROOT, 'config', 'pegasus.conf'),
      PEGASUS_EDGE_WEB_ROOT: join(ROOT, 'build', 'web'),
    });
    this.env = env;
    const fd = openSync(this.logPath, 'a');
    this.proc = spawn(join(ROOT, 'scripts', 'run.sh'), [], { cwd: ROOT, env, detached: true, stdio: ['ignore', fd, fd] });
    closeSync(fd);
    this.exited = false;
    this.proc.on('exit', () => {
      this.exited = true;
    });
    // run.sh prints "ready" once /readyz is 200 and the demo data exists.
    await poll(
      () => {
        if (this.exited) throw new Error(`scripts/run.sh exited early:\n${this.tail()}`);
        return /^ready$/m.test(readFileSync(this.logPath, 'utf8'));
      },
      { timeout: 90000, interval: 200, desc: 'scripts/run.sh to print ready' },
    ).catch((err) => {
      throw new Error(`${err.message}\n${this.tail()}`);
    });
    const r = await fetch(`${this.url}/readyz`);
    if (r.status !== 200) throw new Error(`/readyz is ${r.status}`);
  }

  tail() {
    try {
      return readFileSync(this.logPath, 'utf8').split('\n').slice(-40).join('\n');
    } catch {
      return '';
    }
  }

  async ctl(...args) {
    const bin = join(ROOT, 'build', process.env.PEGASUS_BUILD === 'san' ? 'san/bin' : 'bin', 'pegasusctl');
    const { stdout } = await run(bin, args, { env: this.env, timeout: 30000 });
    return stdout;
  }

  // Runs one SQL statement on a service's database (tests only).
  async sql(service, statement, ...params) {
    const script = 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1], timeout=10); c.execute(sys.argv[2], sys.argv[3:]); c.commit()';
    await run('python3', ['-c', script, join(this.home, 'data', `${service}.db`), statement, ...params], { timeout: 15000 });
  }

  async stop() {
    if (!this.proc) return;
    const pgid = this.proc.pid;
    // run.sh leads its own group (detached); without a pid, -pgid would be
    // 0 or NaN, and kill(0) signals the test runner's own group
    if (!Number.isInteger(pgid) || pgid <= 1) {
      this.proc = null;
      return;
    }
    try {
      process.kill(-pgid, 'SIGTERM');
    } catch {
      /* gone */
    }
    const alive = () => {
      try {
        process.kill(-pgid, 0);
        return true;
      } catch {
        return false;
      }
    };
    const end = Date.now() + 15000;
    while (alive() && Date.now() < end) await sleep(100);
    if (alive()) {
      try {
        process.kill(-pgid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    this.proc = null;
    rmSync(this.home, { recursive: true, force: true });
  }
}

export async function launchBrowser() {
  mkdirSync(OUT, { recursive: true });
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
}

// A browser context (its own cookie jar) with a page, the CSP reports and
// page errors collected, every request recorded.
export async function newPage(browser, sys) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 }, baseURL: sys.url });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: sys.url });
  context.setDefaultTimeout(10000);
  const page = await context.newPage();
  page.problems = [];
  page.requests = [];
  page.on('console', (m) => {
    const t = m.text();
    // API refusals (4xx) are expected in these tests; anything else is a problem.
    if (m.type() === 'error' && !/Failed to load resource: the server responded with a status of 4\d\d/.test(t)) page.problems.push(t);
    else if (/Content.Security.Policy/i.test(t)) page.problems.push(t);
  });
  page.on('pageerror', (e) => page.problems.push(`pageerror: ${e.message}`));
  page.on('request', (r) => page.requests.push({ method: r.method(), url: r.url(), headers: r.headers() }));
  return { context, page };
}

export async function signIn(page, email) {
  await page.goto('/signin');
  await page.fill('#signin-email', email);
  await page.fill('#signin-password', PASSWORD);
  await page.click('form.signin-form button[type=submit]');
  await page.waitForSelector('#token-list[aria-busy=false]');
}

export async function switchTo(page, name) {
  await page.click('#ws-button');
  await page.locator('.ws-item', { hasText: name }).click();
  await page.waitForFunction((n) => document.querySelector('#ws-button .ws-name')?.textContent === n, name);
  await page.waitForSelector('#token-list[aria-busy=false]');
}

export async function shot(page, name, { fullPage = true } = {}) {
  await page.screenshot({ path: join(OUT, `${name}.png`), fullPage });
}

export async function callApi(sys, path, token, init = {}) {
  const res = await fetch(sys.url + path, { ...init, headers: { Authorization: `Bearer ${token}`, ...(init.headers || {}) } });
  const text = await res.text();
  let body = null;
  try {
    body = JSON.parse(text);
  } catch {
    body = text;
  }
  return { status: res.status, body, headers: res.headers };
}
