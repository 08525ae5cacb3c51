// tokens.js — Settings → API Tokens: the list, the Create token dialog, the
// show-once view and Revoke. Wording comes from the product's API overview.
import { h, clear, add, formatDate, relative, timeEl } from './dom.js';
import { api } from './api.js';
import { openDialog, confirmDialog } from './dialog.js';

const MANAGER_ROLES = new Set(['owner', 'admin']);
const FIELD_NAMES = { name: 'Name', scopes: 'Scopes', preset: 'Preset', expires_in_days: 'Expiration' };

let scopesCache = null;

async function loadScopes() {
  if (!scopesCache) scopesCache = await api.scopes();
  return scopesCache;
}

// "'name' must not be empty." → "Name must not be empty."
function fieldMessage(msg) {
  return msg.replace(/'([a-z_]+)'/g, (m, p) => FIELD_NAMES[p] || p).replace(/^./, (c) => c.toUpperCase());
}

// Why this user cannot create tokens in this workspace (SPEC §2 rule 8 order), or null.
function blocker(ws) {
  if (!ws.api_access) return 'upgrade';
  if (ws.read_only) return 'read_only';
  if (!ws.seat) return 'seat';
  return null;
}

function scopeChips(ids, scopes) {
  const byId = new Map((scopes || []).map((s) => [s.id, s]));
  return h(
    'ul',
    { class: 'chips', 'aria-label': 'Scopes' },
    ids.map((id) => {
      const s = byId.get(id);
      return h('li', { class: `chip${s && s.write ? ' chip-write' : ''}`, title: s ? s.label : id }, id);
    }),
  );
}

function blockerCallout(kind, ws, ctx) {
  if (kind === 'upgrade') {
    const eligible = ctx.session.workspaces.filter((w) => w.api_access && w.id !== ws.id);
    return h(
      'div',
      { class: 'callout callout-upgrade', id: 'token-blocker', dataset: { reason: 'upgrade_required' } },
      h('h3', {}, 'Upgrade to use the API'),
      h('p', {}, `API access is available on Pro and Ultra plans. ${ws.name} is on the ${ctx.planLabel(ws.plan)} plan, so it sees this upgrade prompt instead of the token creator.`),
      eligible.length
        ? h(
            'div',
            { class: 'callout-actions' },
            h('span', { class: 'muted' }, 'Switch to an eligible workspace:'),
            eligible.map((w) =>
              h('button', { type: 'button', class: 'btn', onclick: () => ctx.switchWorkspace(w.id) }, `${w.name} (${ctx.planLabel(w.plan)})`),
            ),
          )
        : h('p', { class: 'muted' }, 'Ask the workspace owner to upgrade to Pro or Ultra.'),
    );
  }
  if (kind === 'read_only') {
    return h(
      'div',
      { class: 'callout callout-warn', id: 'token-blocker', dataset: { reason: 'team_read_only' } },
      h('h3', {}, 'Team API access is read-only'),
      h('p', {}, `${ws.name} is pending cancellation or its quota is disabled, so new tokens cannot be created and API calls that change data are refused. Existing tokens can still read, and you can still revoke them.`),
    );
  }
  return h(
    'div',
    { class: 'callout callout-warn', id: 'token-blocker', dataset: { reason: 'seat_required' } },
    h('h3', {}, 'You need a seat in this team to create API tokens'),
    h('p', {}, `You are a ${ctx.roleLabel(ws.role).toLowerCase()} of ${ws.name} without a seat. Ask the team's owner or an admin to give you a seat, or switch to another workspace.`),
  );
}

export function renderTokensTab(panel, ctx) {
  const ws = ctx.workspace;
  const block = blocker(ws);
  const manager = ws.type === 'team' && MANAGER_ROLES.has(ws.role);
  const viewer = ws.role === 'viewer';

  const createBtn = block
    ? null
    : h('button', { type: 'button', class: 'btn btn-primary', id: 'create-token', onclick: () => openCreate() }, 'Create token');

  const listArea = h('div', { class: 'token-list', id: 'token-list', 'aria-busy': 'true' }, h('p', { class: 'muted' }, 'Loading tokens…'));
  let scopesInfo = null;

  add(panel, 
    h(
      'div',
      { class: 'section-head' },
      h('div', {}, h('h2', {}, 'API Tokens'), h('p', { class: 'muted' }, 'Use Personal Access Tokens to connect external clients to Pegasus.')),
      createBtn,
    ),
    h(
      'p',
      { class: 'safety' },
      h('strong', {}, 'Treat tokens like passwords. '),
      'Anyone with a token can call the API as you within its scopes.',
    ),
    h(
      'p',
      { class: 'binding' },
      'New tokens are bound to the active workspace: ',
      h('strong', {}, ws.name),
      ` (${ws.type === 'team' ? 'Team' : 'Personal'}, ${ctx.planLabel(ws.plan)}). `,
      ws.type === 'team' ? 'They act within the team and respect its roles, seats and state.' : 'They act as you in your Personal workspace.',
    ),
    block ? blockerCallout(block, ws, ctx) : null,
    !block && viewer
      ? h('div', { class: 'callout callout-info', id: 'viewer-note' }, h('p', {}, `As a viewer in ${ws.name}, you can create tokens with read scopes only.`))
      : null,
    h('h3', { class: 'list-title' }, manager ? `All tokens in ${ws.name}` : `Your tokens in ${ws.name}`),
    listArea,
  );

  async function load() {
    listArea.setAttribute('aria-busy', 'true');
    try {
      const [scopes, first] = await Promise.all([loadScopes(), api.tokens()]);
      scopesInfo = scopes;
      const data = [...first.data];
      let page = first;
      while (page.has_more && page.next_cursor && data.length < 1000) {
        page = await api.tokens(page.next_cursor);
        data.push(...page.data);
      }
      renderList(data);
    } catch (err) {
      if (!ctx.handleError(err)) {
        add(clear(listArea), h('p', { class: 'form-error' }, `The tokens could not be loaded: ${err.message}`));
      }
    } finally {
      listArea.setAttribute('aria-busy', 'false');
    }
  }

  function renderList(tokens) {
    clear(listArea);
    if (tokens.length === 0) {
      add(listArea, 
        h(
          'div',
          { class: 'empty' },
          h('p', {}, 'No tokens yet.'),
          block ? null : h('p', { class: 'muted' }, 'Create a token to let an external client call the Pegasus API.'),
        ),
      );
      return;
    }
    const showOwner = manager;
    const now = Date.now();
    const cols = ['Token', 'Scopes', 'Workspace', 'Created', 'Expires', 'Last used'];
    if (showOwner) cols.push('Owner');
    const head = h(
      'tr',
      {},
      cols.map((t) => h('th', { scope: 'col' }, t)),
      h('th', { scope: 'col' }, h('span', { class: 'sr-only' }, 'Actions')),
    );
    const rows = tokens.map((t) => {
      const status = t.status || (t.revoked_at ? 'revoked' : new Date(t.expires_at).getTime() <= now ? 'expired' : 'active');
      const statusBadge =
        status === 'revoked'
          ? h('span', { class: 'badge badge-revoked' }, 'Revoked')
          : status === 'expired'
            ? h('span', { class: 'badge badge-expired' }, 'Expired')
            : null;
      let expires;
      if (status === 'revoked') expires = h('span', {}, 'Revoked ', timeEl(t.revoked_at, formatDate(t.revoked_at)));
      else if (status === 'expired') expires = h('span', {}, 'Expired ', timeEl(t.expires_at, relative(t.expires_at, now)));
      else expires = h('span', {}, timeEl(t.expires_at, relative(t.expires_at, now)), h('span', { class: 'sub' }, formatDate(t.expires_at)));
      const lastUsed = t.last_used_at
        ? h('span', {}, timeEl(t.last_used_at, relative(t.last_used_at, now)), t.last_used_ip ? h('span', { class: 'sub' }, `from ${t.last_used_ip}`) : null)
        : h('span', { class: 'muted' }, 'Never used');
      const mine = t.owner && t.owner.id === ctx.session.user.id;
      const ws2 = t.workspace || {};
      return h(
        'tr',
        { class: `token-row status-${status}`, dataset: { tokenId: t.id } },
        h(
          'td',
          { class: 'cell-name' },
          h('span', { class: 'token-name' }, t.name),
          statusBadge,
          h('code', { class: 'prefix', title: 'Display prefix' }, `${t.prefix}…`),
        ),
        h('td', {}, scopeChips(t.scopes, scopesInfo && scopesInfo.scopes)),
        h('td', {}, ws2.name || '', ws2.type === 'team' ? h('span', { class: 'sub' }, 'Team') : ws2.name === 'Personal' ? null : h('span', { class: 'sub' }, 'Personal')),
        h('td', { class: 'nowrap' }, timeEl(t.created_at, formatDate(t.created_at))),
        h('td', { class: 'nowrap' }, expires),
        h('td', { class: 'nowrap' }, lastUsed),
        showOwner
          ? h('td', {}, t.owner ? (mine ? 'You' : t.owner.name || t.owner.email) : '', t.owner && !mine ? h('span', { class: 'sub' }, t.owner.email) : null)
          : null,
        h(
          'td',
          { class: 'cell-actions' },
          status === 'revoked'
            ? null
            : h(
                'button',
                { type: 'button', class: 'btn btn-small btn-danger-ghost', 'aria-label': `Revoke token ${t.name}`, onclick: () => revoke(t) },
                'Revoke',
              ),
        ),
      );
    });
    add(listArea, h('div', { class: 'table-wrap' }, h('table', { class: 'tokens' }, h('thead', {}, head), h('tbody', {}, rows))));
  }

  async function revoke(t) {
    const ok = await confirmDialog({
      title: 'Revoke token?',
      message: `“${t.name}” (${t.prefix}…) will stop working immediately for every client that uses it.`,
      detail: 'Revocation is permanent and cannot be undone.',
      confirmLabel: 'Revoke token',
      danger: true,
    });
    if (!ok) return;
    try {
      await api.revokeToken(t.id);
      ctx.announce(`Token ${t.name} revoked.`);
      await load();
    } catch (err) {
      ctx.handleError(err);
    }
  }

  async function openCreate() {
    let scopes;
    try {
      scopes = await loadScopes();
    } catch (err) {
      ctx.handleError(err);
      return;
    }
    openCreateDialog({ ws, viewer, scopes, onCreated: load, announce: ctx.announce });
  }

  load();
}

function openCreateDialog({ ws, viewer, scopes, onCreated, announce }) {
  let secret = null; // the show-once value; dropped when the dialog closes
  let secretEl = null;
  const d = openDialog({
    title: 'Create token',
    className: 'dialog-create',
    onClose: () => {
      secret = null;
      if (secretEl) {
        secretEl.textContent = '';
        secretEl = null;
      }
    },
  });

  const writeIds = new Set(scopes.scopes.filter((s) => s.write).map((s) => s.id));

  // ---- name
  const nameErr = h('p', { class: 'field-error', id: 'token-name-error' });
  const name = h('input', {
    id: 'token-name',
    name: 'name',
    type: 'text',
    placeholder: 'Production API client',
    autocomplete: 'off',
    spellcheck: 'false',
    'aria-describedby': 'token-name-hint token-name-error',
  });
  const nameField = h(
    'div',
    { class: 'field' },
    h('label', { for: 'token-name' }, 'Name'),
    name,
    h('p', { class: 'hint', id: 'token-name-hint' }, 'Use a purpose-based name, so you know what breaks if you revoke it.'),
    nameErr,
  );

  // ---- scopes
  const boxes = new Map();
  const scopeRows = scopes.scopes.map((s) => {
    const id = `scope-${s.id.replace(':', '-')}`;
    const disabled = viewer && s.write;
    const box = h('input', {
      type: 'checkbox',
      id,
      name: 'scopes',
      value: s.id,
      disabled,
      'aria-describedby': `${id}-desc${disabled ? ` ${id}-why` : ''}`,
    });
    box.addEventListener('change', syncPresets);
    boxes.set(s.id, box);
    return h(
      'li',
      { class: `scope${disabled ? ' scope-disabled' : ''}` },
      box,
      h(
        'div',
        { class: 'scope-text' },
        h('label', { for: id }, s.label),
        h('span', { class: 'scope-desc', id: `${id}-desc` }, h('code', {}, s.id), ' — ', s.description),
        disabled ? h('span', { class: 'scope-why', id: `${id}-why` }, 'Viewers can hold read scopes only.') : null,
      ),
    );
  });
  const scopesErr = h('p', { class: 'field-error', id: 'token-scopes-error' });

  // ---- presets
  const presetBtns = scopes.presets.map((p) => {
    const needsWrite = p.scopes.some((s) => writeIds.has(s));
    const disabled = viewer && needsWrite;
    const btn = h(
      'button',
      {
        type: 'button',
        class: 'preset',
        'aria-pressed': 'false',
        dataset: { preset: p.id },
        disabled,
        title: disabled ? 'Viewers can hold read scopes only.' : null,
      },
      h('span', { class: 'preset-label' }, p.label),
      h('span', { class: 'preset-desc' }, disabled ? 'Needs write scopes — not available to viewers.' : p.description),
    );
    btn.addEventListener('click', () => {
      for (const [id, box] of boxes) box.checked = p.scopes.includes(id) && !box.disabled;
      syncPresets();
      clearError(scopesErr);
    });
    return { btn, preset: p };
  });

  function syncPresets() {
    const ticked = [...boxes].filter(([, b]) => b.checked).map(([id]) => id);
    for (const { btn, preset } of presetBtns) {
      const same = preset.scopes.length === ticked.length && preset.scopes.every((s) => ticked.includes(s));
      btn.setAttribute('aria-pressed', same ? 'true' : 'false');
    }
  }

  const presetGroup = h(
    'div',
    { class: 'field' },
    h('span', { class: 'label', id: 'presets-label' }, 'Presets'),
    h('div', { class: 'presets', role: 'group', 'aria-labelledby': 'presets-label' }, presetBtns.map((x) => x.btn)),
  );
  const scopesField = h(
    'fieldset',
    { class: 'field scopes-field', 'aria-describedby': 'token-scopes-error' },
    h('legend', {}, 'Scopes'),
    h('p', { class: 'hint' }, 'Start narrow: pick the smallest set that lets your client work.'),
    viewer ? h('p', { class: 'hint hint-warn' }, `You are a viewer in ${ws.name}: write scopes are disabled because viewers can hold read scopes only.`) : null,
    h('ul', { class: 'scope-list' }, scopeRows),
    scopesErr,
  );

  // ---- expiry
  const expiry = h(
    'select',
    { id: 'token-expiry', name: 'expires_in_days', 'aria-describedby': 'token-expiry-hint token-expiry-error' },
    scopes.expires_in_days.map((n) => h('option', { value: String(n), selected: n === 30 }, `${n} days`)),
  );
  const expiryHint = h('p', { class: 'hint', id: 'token-expiry-hint' });
  const expiryErr = h('p', { class: 'field-error', id: 'token-expiry-error' });
  function syncExpiry() {
    const at = new Date(Date.now() + Number(expiry.value) * 86400000);
    expiryHint.textContent = `Expires on ${formatDate(at.toISOString())}.`;
  }
  expiry.addEventListener('change', syncExpiry);
  syncExpiry();
  const expiryField = h('div', { class: 'field' }, h('label', { for: 'token-expiry' }, 'Expiration'), expiry, expiryHint, expiryErr);

  const formErr = h('div', { class: 'form-error', role: 'alert', id: 'token-form-error' });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary', id: 'create-token-submit' }, 'Create token');
  const cancel = h('button', { type: 'button', class: 'btn', onclick: () => d.close('cancel') }, 'Cancel');

  const form = h(
    'form',
    { class: 'create-form', novalidate: true },
    h('p', { class: 'binding' }, 'This token will be bound to ', h('strong', {}, ws.name), ` (${ws.type === 'team' ? 'Team' : 'Personal'}).`),
    formErr,
    nameField,
    presetGroup,
    scopesField,
    expiryField,
    h(
      'p',
      { class: 'note', id: 'scopes-note' },
      h('strong', {}, 'Scopes cannot be changed later. '),
      'Scopes and expiry cannot be edited after token creation: revoke the token and create a new one.',
    ),
    h('div', { class: 'dialog-actions' }, cancel, submit),
  );

  const fields = {
    name: [name, nameErr],
    scopes: [scopeRows[0].querySelector('input:not([disabled])') || name, scopesErr],
    preset: [presetBtns[0].btn, scopesErr],
    expires_in_days: [expiry, expiryErr],
  };

  function clearError(el) {
    el.textContent = '';
  }
  function clearErrors() {
    for (const el of [nameErr, scopesErr, expiryErr, formErr]) clearError(el);
    for (const el of [name, expiry]) el.removeAttribute('aria-invalid');
    scopesField.classList.remove('invalid');
  }
  name.addEventListener('input', () => {
    clearError(nameErr);
    name.removeAttribute('aria-invalid');
  });

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors();
    const body = {
      name: name.value,
      scopes: [...boxes].filter(([, b]) => b.checked).map(([id]) => id),
      expires_in_days: Number(expiry.value),
    };
    submit.disabled = true;
    submit.textContent = 'Creating…';
    let result;
    try {
      result = await api.createToken(body);
    } catch (err) {
      submit.disabled = false;
      submit.textContent = 'Create token';
      if (err.code === 'not_signed_in') {
        d.close('error');
        announce('Your session ended. Sign in again.');
        location.assign('/signin');
        return;
      }
      const f = err.param && fields[err.param];
      if (f) {
        const [input, errEl] = f;
        errEl.textContent = fieldMessage(err.message);
        if (err.param === 'scopes' || err.param === 'preset') scopesField.classList.add('invalid');
        else input.setAttribute('aria-invalid', 'true');
        input.focus();
      } else {
        formErr.textContent = err.message;
      }
      return;
    }
    secret = result.secret;
    delete result.secret;
    showOnce(result.token);
    onCreated();
  });

  function showOnce(token) {
    d.setTitle('Copy your new token');
    const status = h('p', { class: 'copy-status', role: 'status', 'aria-live': 'polite', id: 'copy-status' });
    secretEl = h('code', { class: 'secret', id: 'token-secret', tabindex: '0', 'aria-label': 'Your new token' }, secret);
    const copyBtn = h('button', { type: 'button', class: 'btn btn-primary', id: 'copy-token' }, 'Copy');
    copyBtn.addEventListener('click', async () => {
      if (!secret) return;
      try {
        await navigator.clipboard.writeText(secret);
      } catch {
        const range = document.createRange();
        range.selectNodeContents(secretEl);
        const sel = window.getSelection();
        sel.removeAllRanges();
        sel.addRange(range);
        if (!document.execCommand('copy')) {
          status.textContent = 'Copying failed: the token is selected, press Ctrl+C to copy it.';
          return;
        }
        sel.removeAllRanges();
      }
      copyBtn.textContent = 'Copied';
      status.textContent = 'Token copied to the clipboard.';
    });
    const done = h('button', { type: 'button', class: 'btn', id: 'close-token', onclick: () => d.close('done') }, 'Done');
    add(clear(d.body), 
      h('p', {}, 'Token ', h('strong', {}, `“${token.name}”`), ' was created.'),
      h(
        'div',
        { class: 'callout callout-warn', id: 'show-once-warning' },
        h('p', {}, h('strong', {}, 'Copy this token now. '), 'It will not be shown again: Pegasus stores only a hash of it. Store it somewhere safe before you close this dialog.'),
      ),
      h('div', { class: 'secret-row' }, secretEl, copyBtn),
      status,
      h(
        'dl',
        { class: 'facts facts-compact' },
        h('dt', {}, 'Scopes'),
        h('dd', {}, scopeChips(token.scopes, scopes.scopes)),
        h('dt', {}, 'Workspace'),
        h('dd', {}, token.workspace ? token.workspace.name : ws.name),
        h('dt', {}, 'Expires'),
        h('dd', {}, `${formatDate(token.expires_at)} (${relative(token.expires_at)})`),
      ),
      h('div', { class: 'dialog-actions' }, done),
    );
    copyBtn.focus();
    announce(`Token ${token.name} created. Copy it now; it will not be shown again.`);
  }

  add(d.body, form);
  name.focus();
}
