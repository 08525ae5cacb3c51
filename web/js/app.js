// app.js — the Pegasus web app: session, header with the workspace switcher,
// client-side routes (/signin, /usage, /settings/…, /docs).
import { h, clear, add } from './dom.js';
import { api, setCsrf, ApiError } from './api.js';
import { renderTokensTab } from './tokens.js';
import { renderDocs } from './docs.js';
import { renderUsage } from './usage.js';

const PLAN_LABEL = { free: 'Free', pro: 'Pro', ultra: 'Ultra' };
const ROLE_LABEL = { owner: 'Owner', admin: 'Admin', member: 'Member', viewer: 'Viewer' };

const state = {
  session: null, // {user, workspaces, active_workspace_id}
  loaded: false,
};

const root = document.getElementById('app');

export function planLabel(plan) {
  return PLAN_LABEL[plan] || plan;
}
export function roleLabel(role) {
  return ROLE_LABEL[role] || role;
}

function activeWorkspace() {
  const s = state.session;
  if (!s) return null;
  return s.workspaces.find((w) => w.id === s.active_workspace_id) || s.workspaces[0] || null;
}

function setSession(data) {
  if (data) {
    setCsrf(data.csrf_token);
    // Keep the CSRF value in api.js only.
    const { csrf_token: _ignored, ...rest } = data;
    state.session = rest;
  } else {
    setCsrf(null);
    state.session = null;
  }
}

// ---- routing

export function navigate(path, { replace = false } = {}) {
  if (replace) history.replaceState(null, '', path);
  else history.pushState(null, '', path);
  render();
}

function link(href, text, attrs = {}) {
  return h(
    'a',
    {
      href,
      ...attrs,
      onclick: (ev) => {
        if (ev.defaultPrevented || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) return;
        ev.preventDefault();
        navigate(href);
      },
    },
    text,
  );
}

window.addEventListener('popstate', () => render());

// ---- header

function planBadge(plan) {
  return h('span', { class: `badge plan plan-${plan}` }, planLabel(plan));
}

function workspaceSwitcher() {
  const ws = activeWorkspace();
  const menuId = 'ws-menu';
  const button = h(
    'button',
    {
      type: 'button',
      class: 'ws-button',
      id: 'ws-button',
      'aria-haspopup': 'true',
      'aria-expanded': 'false',
      'aria-controls': menuId,
      'aria-label': `Workspace: ${ws.name} (${planLabel(ws.plan)}). Switch workspace`,
    },
    h('span', { class: 'ws-kind' }, ws.type === 'team' ? 'Team' : 'Personal'),
    h('span', { class: 'ws-name' }, ws.name),
    planBadge(ws.plan),
    h('span', { class: 'caret', 'aria-hidden': 'true' }, '▾'),
  );
  const items = state.session.workspaces.map((w) =>
    h(
      'li',
      { role: 'none' },
      h(
        'button',
        {
          type: 'button',
          role: 'menuitemradio',
          'aria-checked': w.id === ws.id ? 'true' : 'false',
          class: 'ws-item',
          dataset: { workspaceId: w.id },
          onclick: () => choose(w),
        },
        h('span', { class: 'ws-item-main' }, h('span', { class: 'ws-item-name' }, w.name), planBadge(w.plan)),
        h(
          'span',
          { class: 'ws-item-sub' },
          w.type === 'team' ? `Team · ${roleLabel(w.role)}${w.seat ? '' : ' · no seat'}${w.read_only ? ' · read-only' : ''}` : 'Personal',
        ),
      ),
    ),
  );
  const menu = h('ul', { class: 'ws-menu', id: menuId, role: 'menu', 'aria-label': 'Workspaces', hidden: true }, items);
  const wrap = h('div', { class: 'ws-switcher' }, button, menu);

  function open() {
    menu.hidden = false;
    button.setAttribute('aria-expanded', 'true');
    const current = menu.querySelector('[aria-checked="true"]') || menu.querySelector('button');
    current.focus();
    document.addEventListener('mousedown', outside, true);
  }
  function close(focusButton = true) {
    menu.hidden = true;
    button.setAttribute('aria-expanded', 'false');
    document.removeEventListener('mousedown', outside, true);
    if (focusButton) button.focus();
  }
  function outside(ev) {
    if (!wrap.contains(ev.target)) close(false);
  }
  async function choose(w) {
    close();
    if (w.id === state.session.active_workspace_id) return;
    try {
      setSession(await api.switchWorkspace(w.id));
      render();
      const b = document.getElementById('ws-button');
      if (b) b.focus();
      announce(`Switched to ${w.name} (${planLabel(w.plan)})`);
    } catch (err) {
      handleError(err);
    }
  }
  button.addEventListener('click', () => (menu.hidden ? open() : close()));
  button.addEventListener('keydown', (ev) => {
    if (ev.key === 'ArrowDown' && menu.hidden) {
      ev.preventDefault();
      open();
    }
  });
  menu.addEventListener('keydown', (ev) => {
    const list = [...menu.querySelectorAll('button')];
    const i = list.indexOf(document.activeElement);
    if (ev.key === 'Escape') {
      ev.preventDefault();
      close();
    } else if (ev.key === 'ArrowDown') {
      ev.preventDefault();
      list[(i + 1) % list.length].focus();
    } else if (ev.key === 'ArrowUp') {
      ev.preventDefault();
      list[(i - 1 + list.length) % list.length].focus();
    } else if (ev.key === 'Home') {
      ev.preventDefault();
      list[0].focus();
    } else if (ev.key === 'End') {
      ev.preventDefault();
      list[list.length - 1].focus();
    } else if (ev.key === 'Tab') {
      close(false);
    }
  });
  return wrap;
}

function header(current) {
  const s = state.session;
  const nav = h(
    'nav',
    { class: 'main-nav', 'aria-label': 'Main' },
    s ? link('/usage', 'Usage', { 'aria-current': current === 'usage' ? 'page' : null }) : null,
    s ? link('/settings/tokens', 'Settings', { 'aria-current': current === 'settings' ? 'page' : null }) : null,
    link('/docs', 'API docs', { 'aria-current': current === 'docs' ? 'page' : null }),
  );
  const right = s
    ? h(
        'div',
        { class: 'header-right' },
        workspaceSwitcher(),
        h(
          'div',
          { class: 'user' },
          h('span', { class: 'avatar', 'aria-hidden': 'true' }, (s.user.name || s.user.email).slice(0, 1).toUpperCase()),
          h('span', { class: 'user-text' }, h('span', { class: 'user-name' }, s.user.name), h('span', { class: 'user-email' }, s.user.email)),
        ),
        h('button', { type: 'button', class: 'btn btn-ghost', onclick: signOut }, 'Sign out'),
      )
    : h('div', { class: 'header-right' }, link('/signin', 'Sign in', { class: 'btn btn-primary' }));
  return h(
    'header',
    { class: 'app-header' },
    h('div', { class: 'header-left' }, link(s ? '/settings/tokens' : '/signin', [h('span', { class: 'logo', 'aria-hidden': 'true' }, 'P'), 'Pegasus'], { class: 'brand' }), nav),
    right,
  );
}

async function signOut() {
  try {
    await api.logout();
  } catch (err) {
    if (!(err instanceof ApiError) || err.status !== 401) {
      handleError(err);
      return;
    }
  }
  setSession(null);
  navigate('/signin', { replace: true });
}

// ---- live region and errors

let liveRegion = null;
export function announce(text) {
  if (!liveRegion) return;
  liveRegion.textContent = '';
  setTimeout(() => {
    liveRegion.textContent = text;
  }, 50);
}

export function handleError(err) {
  if (err instanceof ApiError && err.code === 'not_signed_in') {
    setSession(null);
    navigate('/signin?next=' + encodeURIComponent(location.pathname), { replace: true });
    return true;
  }
  showBanner(err.message || String(err));
  return false;
}

function showBanner(text) {
  const el = document.getElementById('banner');
  if (!el) return;
  add(clear(el), h('span', {}, text), h('button', { type: 'button', class: 'icon-btn', 'aria-label': 'Dismiss', onclick: () => clear(el) }, '×'));
}

// ---- pages

function signInPage() {
  const params = new URLSearchParams(location.search);
  const next = params.get('next');
  const email = h('input', { id: 'signin-email', name: 'email', type: 'email', autocomplete: 'username', required: true, 'aria-describedby': 'signin-email-error' });
  const password = h('input', { id: 'signin-password', name: 'password', type: 'password', autocomplete: 'current-password', required: true, 'aria-describedby': 'signin-password-error' });
  const emailErr = h('p', { class: 'field-error', id: 'signin-email-error' });
  const passErr = h('p', { class: 'field-error', id: 'signin-password-error' });
  const formErr = h('div', { class: 'form-error', role: 'alert', id: 'signin-error' });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary btn-block' }, 'Sign in');
  const form = h(
    'form',
    { class: 'signin-form', novalidate: true, 'aria-labelledby': 'signin-title' },
    h('h1', { id: 'signin-title' }, 'Sign in to Pegasus'),
    h('p', { class: 'muted' }, 'Manage API access for your workspaces.'),
    formErr,
    h('div', { class: 'field' }, h('label', { for: 'signin-email' }, 'Email'), email, emailErr),
    h('div', { class: 'field' }, h('label', { for: 'signin-password' }, 'Password'), password, passErr),
    submit,
  );
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    for (const el of [emailErr, passErr, formErr]) el.textContent = '';
    email.removeAttribute('aria-invalid');
    password.removeAttribute('aria-invalid');
    if (!email.value.trim()) {
      emailErr.textContent = 'Enter your email address.';
      email.setAttribute('aria-invalid', 'true');
      email.focus();
      return;
    }
    if (!password.value) {
      passErr.textContent = 'Enter your password.';
      password.setAttribute('aria-invalid', 'true');
      password.focus();
      return;
    }
    submit.disabled = true;
    submit.textContent = 'Signing in…';
    try {
      setSession(await api.login(email.value.trim(), password.value));
      password.value = '';
      const dest = next && next.startsWith('/') && !next.startsWith('//') && !next.startsWith('/signin') ? next : '/settings/tokens';
      navigate(dest, { replace: true });
    } catch (err) {
      submit.disabled = false;
      submit.textContent = 'Sign in';
      if (err.param === 'email') {
        emailErr.textContent = err.message;
        email.setAttribute('aria-invalid', 'true');
        email.focus();
      } else if (err.param === 'password') {
        passErr.textContent = err.message;
        password.setAttribute('aria-invalid', 'true');
        password.focus();
      } else {
        formErr.textContent = err.message;
        password.select();
        password.focus();
      }
    }
  });
  setTimeout(() => email.focus(), 0);
  return h('main', { id: 'main', class: 'page page-signin' }, h('div', { class: 'card signin-card' }, form));
}

const TABS = [
  { id: 'profile', label: 'Profile' },
  { id: 'workspace', label: 'Workspace' },
  { id: 'tokens', label: 'API Tokens' },
];

function settingsPage(tab) {
  const tabs = h(
    'nav',
    { class: 'tabs', 'aria-label': 'Settings' },
    TABS.map((t) => link(`/settings/${t.id}`, t.label, { class: 'tab', 'aria-current': t.id === tab ? 'page' : null, id: `tab-${t.id}` })),
  );
  const panel = h('section', { class: 'tab-panel', 'aria-labelledby': `tab-${tab}` });
  const ctx = { session: state.session, workspace: activeWorkspace(), handleError, announce, switchWorkspace, planLabel, roleLabel };
  if (tab === 'profile') profileTab(panel);
  else if (tab === 'workspace') workspaceTab(panel);
  else renderTokensTab(panel, ctx);
  return h('main', { id: 'main', class: 'page' }, h('h1', { class: 'page-title' }, 'Settings'), tabs, panel);
}

async function switchWorkspace(id) {
  try {
    setSession(await api.switchWorkspace(id));
    render();
  } catch (err) {
    handleError(err);
  }
}

function dl(rows) {
  return h('dl', { class: 'facts' }, rows.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
}

function profileTab(panel) {
  const u = state.session.user;
  add(panel, h('h2', {}, 'Profile'), dl([['Name', u.name], ['Email', u.email], ['User ID', h('code', {}, u.id)]]));
}

function workspaceTab(panel) {
  const w = activeWorkspace();
  const status = !w.api_access ? 'No API access on this plan' : w.read_only ? 'Read-only (pending cancellation or quota disabled)' : 'Active';
  add(panel, 
    h('h2', {}, 'Workspace'),
    dl([
      ['Name', w.name],
      ['Type', w.type === 'team' ? 'Team' : 'Personal'],
      ['Plan', planBadge(w.plan)],
      ['Your role', roleLabel(w.role)],
      ['Seat', w.seat ? 'Yes' : 'No'],
      ['API access', status],
      ['Workspace ID', h('code', {}, w.id)],
    ]),
    h('h3', {}, 'Your workspaces'),
    h(
      'ul',
      { class: 'ws-list' },
      state.session.workspaces.map((x) =>
        h('li', {}, h('span', { class: 'ws-item-name' }, x.name), ' ', planBadge(x.plan), h('span', { class: 'muted' }, ` ${x.type === 'team' ? 'Team · ' + roleLabel(x.role) : 'Personal'}`), x.id === w.id ? h('span', { class: 'badge' }, 'Active') : null),
      ),
    ),
  );
}

function notFoundPage() {
  return h('main', { id: 'main', class: 'page' }, h('h1', { class: 'page-title' }, 'Page not found'), h('p', {}, 'There is nothing at this address. '), link('/settings/tokens', 'Go to Settings'));
}

// ---- render

function render() {
  const path = location.pathname.replace(/\/+$/, '') || '/';
  let page;
  let current = null;
  if (path === '/signin') {
    if (state.session) {
      navigate('/settings/tokens', { replace: true });
      return;
    }
    page = signInPage();
    document.title = 'Sign in · Pegasus';
  } else if (path === '/usage') {
    if (!state.session) {
      navigate('/signin?next=' + encodeURIComponent(path + location.search), { replace: true });
      return;
    }
    current = 'usage';
    page = h('main', { id: 'main', class: 'page page-usage' });
    renderUsage(page, { session: state.session, workspace: activeWorkspace(), handleError, announce, switchWorkspace, planLabel, roleLabel, link });
    document.title = 'Usage · Pegasus';
  } else if (path === '/docs') {
    current = 'docs';
    page = h('main', { id: 'main', class: 'page page-docs' });
    renderDocs(page);
    document.title = 'API docs · Pegasus';
  } else if (path === '/' || path === '/settings' || path.startsWith('/settings/')) {
    if (!state.session) {
      navigate('/signin' + (path === '/' ? '' : '?next=' + encodeURIComponent(path)), { replace: true });
      return;
    }
    let tab = path.split('/')[2] || 'tokens';
    if (path === '/' || path === '/settings') {
      history.replaceState(null, '', '/settings/tokens');
      tab = 'tokens';
    }
    if (!TABS.some((t) => t.id === tab)) {
      page = notFoundPage();
    } else {
      current = 'settings';
      page = settingsPage(tab);
      document.title = `${TABS.find((t) => t.id === tab).label} · Settings · Pegasus`;
    }
  } else {
    page = notFoundPage();
    document.title = 'Not found · Pegasus';
  }
  liveRegion = h('div', { class: 'sr-only', role: 'status', 'aria-live': 'polite', id: 'live' });
  add(clear(root), 
    h('a', { class: 'skip-link', href: '#main' }, 'Skip to content'),
    path === '/signin' ? null : header(current),
    h('div', { id: 'banner', class: 'banner', role: 'alert' }),
    page,
    liveRegion,
  );
  document.querySelectorAll('body > .skip-link').forEach((el) => el.remove());
}

async function start() {
  try {
    setSession(await api.session());
  } catch (err) {
    if (!(err instanceof ApiError) || err.status !== 401) {
      state.session = null;
    }
  }
  state.loaded = true;
  render();
}

start();
