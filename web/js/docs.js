// docs.js — the API docs page: a "Try it" playground that takes a token, and
// the full reference of /v1/openapi.json rendered by Swagger UI (served from
// /vendor/swagger-ui, assembled by scripts/web.sh from the pinned npm package).
import { h, clear, add } from './dom.js';

const SHOWN_HEADERS = ['x-request-id', 'x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset', 'pegasus-token-expires', 'retry-after', 'www-authenticate'];
const METHODS = ['get', 'post', 'patch', 'delete', 'put'];

let token = ''; // kept in this page's memory only, never stored
let swagger = null;

function loadScript(src) {
  return new Promise((resolve, reject) => {
    if (window.SwaggerUIBundle) {
      resolve();
      return;
    }
    const s = document.createElement('script');
    s.src = src;
    s.onload = () => resolve();
    s.onerror = () => reject(new Error('not found'));
    document.head.appendChild(s);
  });
}

function loadCss(href) {
  if (document.querySelector(`link[href="${href}"]`)) return;
  document.head.appendChild(h('link', { rel: 'stylesheet', href }));
}

export function renderDocs(main) {
  token = '';
  const reference = h('div', { id: 'swagger-ui', class: 'swagger-host' }, h('p', { class: 'muted' }, 'Loading the API reference…'));
  const playground = h('section', { class: 'card playground', 'aria-labelledby': 'pg-title' });
  add(main, 
    h('h1', { class: 'page-title' }, 'API docs'),
    h(
      'p',
      { class: 'lead' },
      'Pegasus API access lets external clients authenticate with a Personal Access Token and perform actions within selected scopes. ',
      'Send the token as ',
      h('code', {}, 'Authorization: Bearer pgs_…'),
      '. The machine-readable description is ',
      h('a', { href: '/v1/openapi.json' }, '/v1/openapi.json'),
      ' (OpenAPI 3.1).',
    ),
    playground,
    h('section', { class: 'reference', 'aria-labelledby': 'ref-title' }, h('h2', { id: 'ref-title' }, 'Reference'), reference),
  );

  fetch('/v1/openapi.json', { credentials: 'omit' })
    .then((r) => {
      if (!r.ok) throw new Error(`HTTP ${r.status}`);
      return r.json();
    })
    .then((spec) => {
      buildPlayground(playground, spec);
      return mountReference(reference, spec);
    })
    .catch((err) => {
      add(clear(reference), h('p', { class: 'form-error' }, `The API description could not be loaded: ${err.message}`));
    });
}

function operations(spec) {
  const ops = [];
  for (const [path, item] of Object.entries(spec.paths || {})) {
    if (!path.startsWith('/v1/')) continue;
    for (const m of METHODS) {
      if (item[m]) ops.push({ method: m.toUpperCase(), path, summary: item[m].summary || '' });
    }
  }
  return ops;
}

function buildPlayground(box, spec) {
  const ops = operations(spec);
  const tokenInput = h('input', {
    id: 'pg-token',
    type: 'password',
    autocomplete: 'off',
    spellcheck: 'false',
    placeholder: 'pgs_…',
    'aria-describedby': 'pg-token-hint',
  });
  const showBtn = h('button', { type: 'button', class: 'btn btn-small', 'aria-pressed': 'false', 'aria-controls': 'pg-token' }, 'Show');
  showBtn.addEventListener('click', () => {
    const show = tokenInput.type === 'password';
    tokenInput.type = show ? 'text' : 'password';
    showBtn.setAttribute('aria-pressed', String(show));
    showBtn.textContent = show ? 'Hide' : 'Show';
  });
  tokenInput.addEventListener('input', () => {
    token = tokenInput.value.trim();
    if (swagger) swagger.preauthorizeApiKey('bearer', token);
  });
  const opSelect = h(
    'select',
    { id: 'pg-op' },
    ops.map((o, i) => h('option', { value: String(i) }, `${o.method} ${o.path}${o.summary ? ' — ' + o.summary : ''}`)),
  );
  const method = h('select', { id: 'pg-method', 'aria-label': 'Method' }, ['GET', 'POST', 'PATCH', 'DELETE'].map((m) => h('option', { value: m }, m)));
  const path = h('input', { id: 'pg-path', type: 'text', spellcheck: 'false', 'aria-label': 'Path', value: '/v1/token' });
  const body = h('textarea', { id: 'pg-body', rows: '4', spellcheck: 'false', placeholder: '{ }' });
  const bodyField = h('div', { class: 'field', hidden: true }, h('label', { for: 'pg-body' }, 'JSON body'), body);
  const send = h('button', { type: 'submit', class: 'btn btn-primary', id: 'pg-send' }, 'Send request');
  const result = h('div', { class: 'pg-result', id: 'pg-result', 'aria-live': 'polite' });

  function syncBody() {
    bodyField.hidden = method.value === 'GET' || method.value === 'DELETE';
  }
  function pick() {
    const o = ops[Number(opSelect.value)];
    if (!o) return;
    method.value = o.method;
    path.value = o.path;
    syncBody();
  }
  opSelect.addEventListener('change', pick);
  method.addEventListener('change', syncBody);
  const first = ops.findIndex((o) => o.method === 'GET' && o.path === '/v1/token');
  opSelect.value = String(first >= 0 ? first : 0);
  pick();

  const form = h(
    'form',
    { class: 'pg-form', novalidate: true },
    h(
      'div',
      { class: 'field' },
      h('label', { for: 'pg-token' }, 'Personal Access Token'),
      h('div', { class: 'input-row' }, tokenInput, showBtn),
      h('p', { class: 'hint', id: 'pg-token-hint' }, 'Create one in Settings → API Tokens. It stays in this page only and is sent to this server only; it is also used by the reference below.'),
    ),
    h('div', { class: 'field' }, h('label', { for: 'pg-op' }, 'Endpoint'), opSelect),
    h('div', { class: 'field' }, h('span', { class: 'label' }, 'Request'), h('div', { class: 'input-row' }, method, path)),
    bodyField,
    h('div', { class: 'form-actions' }, send),
  );
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const url = path.value.trim();
    if (!url.startsWith('/v1/')) {
      add(clear(result), h('p', { class: 'form-error' }, 'The path must start with /v1/.'));
      return;
    }
    const headers = { Accept: 'application/json' };
    if (token) headers.Authorization = `Bearer ${token}`;
    const init = { method: method.value, headers, credentials: 'omit', cache: 'no-store' };
    if (!bodyField.hidden && body.value.trim()) {
      headers['Content-Type'] = 'application/json';
      init.body = body.value;
    }
    send.disabled = true;
    add(clear(result), h('p', { class: 'muted' }, 'Sending…'));
    const t0 = performance.now();
    try {
      const res = await fetch(url, init);
      const text = await res.text();
      const ms = Math.round(performance.now() - t0);
      let pretty = text;
      try {
        pretty = JSON.stringify(JSON.parse(text), null, 2);
      } catch {
        /* not JSON */
      }
      const shown = SHOWN_HEADERS.filter((n) => res.headers.get(n) !== null);
      add(clear(result), 
        h(
          'p',
          { class: 'pg-status' },
          h('span', { class: `status-code ${res.ok ? 'ok' : 'fail'}`, id: 'pg-status' }, `${res.status} ${res.statusText}`),
          h('span', { class: 'muted' }, ` · ${ms} ms`),
        ),
        shown.length
          ? h('dl', { class: 'facts facts-compact pg-headers' }, shown.map((n) => [h('dt', {}, n), h('dd', {}, h('code', {}, res.headers.get(n)))]))
          : null,
        h('pre', { class: 'pg-body', id: 'pg-response', tabindex: '0' }, pretty || '(empty body)'),
      );
    } catch (err) {
      add(clear(result), h('p', { class: 'form-error' }, `The request failed: ${err.message}`));
    } finally {
      send.disabled = false;
    }
  });

  add(clear(box), 
    h('h2', { id: 'pg-title' }, 'Try it'),
    h('p', { class: 'muted' }, 'Call the API from this page with one of your tokens. Treat tokens like passwords.'),
    form,
    result,
  );
}

async function mountReference(host, spec) {
  loadCss('/vendor/swagger-ui/swagger-ui.css');
  try {
    await loadScript('/vendor/swagger-ui/swagger-ui-bundle.js');
  } catch {
    add(clear(host), 
      h(
        'p',
        { class: 'callout callout-warn' },
        'The API reference renderer is not installed on this server (scripts/web.sh copies it from the npm package swagger-ui-dist). The description itself is at ',
        h('a', { href: '/v1/openapi.json' }, '/v1/openapi.json'),
        '.',
      ),
    );
    return;
  }
  clear(host);
  swagger = window.SwaggerUIBundle({
    spec,
    domNode: host,
    deepLinking: false,
    validatorUrl: null,
    persistAuthorization: false,
    tryItOutEnabled: false,
    defaultModelsExpandDepth: 0,
    docExpansion: 'list',
    requestInterceptor: (req) => {
      req.credentials = 'same-origin';
      return req;
    },
    presets: [window.SwaggerUIBundle.presets.apis],
    layout: 'BaseLayout',
    onComplete: () => {
      if (token) swagger.preauthorizeApiKey('bearer', token);
    },
  });
}
