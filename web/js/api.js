// api.js — the in-app API (/app/api, session cookie). Every state-changing
// call carries X-CSRF-Token, the value the sign-in (or /session) returned;
// it lives in this module's memory only.

let csrf = null;

export class ApiError extends Error {
  constructor(status, body) {
    const e = (body && body.error) || {};
    super(e.message || `Request failed (${status})`);
    this.status = status;
    this.code = e.code || 'http_' + status;
    this.param = e.param || null;
  }
}

export function setCsrf(value) {
  csrf = value || null;
}

async function call(method, path, body) {
  const headers = { Accept: 'application/json' };
  if (method !== 'GET' && method !== 'HEAD') {
    if (csrf) headers['X-CSRF-Token'] = csrf;
  }
  const init = { method, headers, credentials: 'same-origin', cache: 'no-store' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch {
    throw new ApiError(0, { error: { code: 'network_error', message: 'Pegasus could not be reached. Check your connection and try again.' } });
  }
  if (res.status === 204) return null;
  let data = null;
  const type = res.headers.get('Content-Type') || '';
  if (type.includes('application/json')) {
    try {
      data = await res.json();
    } catch {
      data = null;
    }
  }
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}

export const api = {
  session: () => call('GET', '/app/api/session'),
  login: (email, password) => call('POST', '/app/api/login', { email, password }),
  logout: () => call('POST', '/app/api/logout'),
  switchWorkspace: (id) => call('POST', '/app/api/workspace', { workspace_id: id }),
  scopes: () => call('GET', '/app/api/scopes'),
  tokens: (after) => call('GET', '/app/api/tokens?limit=100' + (after ? '&after=' + encodeURIComponent(after) : '')),
  createToken: (body) => call('POST', '/app/api/tokens', body),
  revokeToken: (id) => call('DELETE', '/app/api/tokens/' + encodeURIComponent(id)),
};
