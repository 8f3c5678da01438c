// Fetch wrapper for /api/v1: JSON in and out, CSRF header on state-changing requests,
// and every failure turned into an ApiError carrying the server's {code, message}.

const BASE = '/api/v1';
let csrfToken = document.querySelector('meta[name="csrf-token"]')?.getAttribute('content') || null;

export class ApiError extends Error {
  constructor(status, code, message, locked = false) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.locked = locked; // "Leave quickly" locked this log-in: only the password opens it
  }
}

// Whether the last answer about the log-in said it is locked. Any 401 marked `locked`
// (from whichever screen asked) also fires `mend:locked` on window: the app then shows
// only "Enter your password to continue".
let locked = false;
export function isLocked() {
  return locked;
}

const NETWORK_MESSAGE = "We couldn't reach Mend. Check your connection and try again.";

async function send(method, path, body) {
  const headers = { Accept: 'application/json' };
  const init = { method, headers, credentials: 'same-origin', cache: 'no-store' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  if (method !== 'GET' && method !== 'HEAD') {
    if (!csrfToken) await refreshCsrf();
    headers['X-CSRFToken'] = csrfToken;
  }
  let response;
  try {
    response = await fetch(BASE + path, init);
  } catch {
    throw new ApiError(0, 'network', NETWORK_MESSAGE);
  }
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (!response.ok || !data || data.ok === false) {
    const error = (data && data.error) || {};
    if (response.status === 401) {
      locked = error.locked === true;
      if (locked) window.dispatchEvent(new Event('mend:locked'));
    }
    throw new ApiError(
      response.status,
      error.code || (response.status === 401 ? 'unauthenticated' : 'internal'),
      error.message || (response.ok ? 'Mend sent an answer we could not read.'
        : `Something went wrong (${response.status}). Please try again.`),
      error.locked === true,
    );
  }
  return data;
}

async function request(method, path, body) {
  try {
    return await send(method, path, body);
  } catch (error) {
    // A stale token (the log-in session changed in another tab): fetch a fresh one, retry once.
    if (error instanceof ApiError && error.status === 403 && method !== 'GET'
        && /token/i.test(error.message)) {
      await refreshCsrf();
      return send(method, path, body);
    }
    throw error;
  }
}

export async function refreshCsrf() {
  const data = await send('GET', '/csrf');
  csrfToken = data.csrf_token;
  // Kept in the page too: Leave quickly (js/help.js, its own module) sends it on the way out.
  document.querySelector('meta[name="csrf-token"]')?.setAttribute('content', csrfToken);
  return csrfToken;
}

export const api = {
  get: (path) => request('GET', path),
  post: (path, body = {}) => request('POST', path, body),
  put: (path, body = {}) => request('PUT', path, body),
  del: (path, body) => request('DELETE', path, body),
};

// ---- The calls the client makes -------------------------------------------------------

export async function fetchMe() {
  try {
    const me = await api.get('/me');
    locked = false;
    return me;
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return null;
    throw error;
  }
}

export async function logIn({ email, password }) {
  const data = await api.post('/auth/login', { email, password });
  await refreshCsrf();
  return data.user;
}

/** Open a log-in that "Leave quickly" locked: the password only (the screen shows no e-mail). */
export async function unlock(password) {
  const data = await api.post('/auth/unlock', { password });
  locked = false;
  await refreshCsrf(); // a fresh log-in session: a new token
  return data.user;
}

export async function logOut() {
  await api.post('/auth/logout');
  locked = false;
  await refreshCsrf().catch(() => {});
}

/** An invite as its link's visitor sees it: {status: open|used|own|member, inviter}; a
 *  code that matches no invite throws ApiError with code 'not_found'. No log-in needed. */
export async function fetchInvite(code) {
  const data = await api.get(`/invites/${encodeURIComponent(code)}`);
  return data.invite;
}

export async function requestPasswordReset(email) {
  await api.post('/auth/password-reset/request', { email });
}

/** Set a new password with the token from the e-mailed link; logs in. */
export async function resetPassword({ token, password }) {
  const data = await api.post('/auth/password-reset', { token, password });
  await refreshCsrf(); // logged in now: a new log-in session, so a new token
  return data.user;
}
