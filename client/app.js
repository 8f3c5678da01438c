// Mend browser client: bootstrap and a small router over location.pathname.
//   /            home (or sign in)
//   /join/<code> sign in if needed, then join the partner's couple space
//   /s/<id>      a session

import { h, replaceChildren, announce } from './js/dom.js';
import { api, fetchMe, logOut } from './js/api.js';
import { renderAuth } from './js/views/auth.js';
import { renderHome } from './js/views/home.js';
import { renderSession } from './js/views/session.js';

const root = document.getElementById('app');
const topbarActions = document.getElementById('topbar-actions');

const app = {
  me: null, // {user, couples, sessions} while logged in
  view: null, // the current view's {destroy}
  notice: null, // a message to show on the next home render
  routeToken: 0,
};

function parseRoute(pathname) {
  let match = pathname.match(/^\/join\/([^/]+)\/?$/);
  if (match) return { name: 'join', code: decodeURIComponent(match[1]) };
  match = pathname.match(/^\/s\/([^/]+)\/?$/);
  if (match) return { name: 'session', sessionId: decodeURIComponent(match[1]) };
  if (pathname === '/' || pathname === '') return { name: 'home' };
  return { name: 'not-found' };
}

export function navigate(path, { replace = false } = {}) {
  // Drafts are flushed on leaving; only a submit still waiting for its ack is at risk.
  if (!replace && app.view && app.view.hasPendingSubmit && app.view.hasPendingSubmit()
      && !window.confirm('Your answer is still being sent. If you leave now it may not arrive. Leave anyway?')) {
    return;
  }
  if (replace) history.replaceState(null, '', path);
  else history.pushState(null, '', path);
  route();
}

function destroyView() {
  if (app.view && app.view.destroy) app.view.destroy();
  app.view = null;
}

function renderTopbar() {
  if (!app.me) {
    replaceChildren(topbarActions);
    return;
  }
  const button = h('button', {
    type: 'button', class: 'link-button', testid: 'logout',
    onclick: async () => {
      button.disabled = true;
      destroyView();
      try {
        await logOut();
      } catch (error) {
        app.notice = { kind: 'error', text: error.message };
      }
      app.me = null;
      announce('You have logged out.');
      navigate('/', { replace: true });
    },
  }, 'Log out');
  replaceChildren(topbarActions,
    h('span', { class: 'whoami', testid: 'whoami' }, app.me.user.display_name),
    button);
}

function setBusy(busy) {
  if (busy) root.setAttribute('aria-busy', 'true');
  else root.removeAttribute('aria-busy');
}

function focusTitle() {
  const title = root.querySelector('.view-title');
  if (title) title.focus({ preventScroll: true });
}

async function route({ focus = true } = {}) {
  const token = ++app.routeToken;
  destroyView();
  const where = parseRoute(location.pathname);
  setBusy(true);

  if (!app.me) {
    try {
      app.me = await fetchMe();
    } catch (error) {
      if (token !== app.routeToken) return;
      renderProblem(error.message, () => route());
      setBusy(false);
      return;
    }
  }
  if (token !== app.routeToken) return;
  renderTopbar();

  if (!app.me) {
    document.title = where.name === 'join' ? 'Join your partner · Mend' : 'Mend';
    const notice = app.notice && app.notice.text;
    app.notice = null;
    renderAuth(root, {
      inviteCode: where.name === 'join' ? where.code : null,
      notice,
      onAuthed: async () => {
        app.me = await fetchMe();
        route();
      },
    });
    setBusy(false);
    if (focus) focusTitle();
    return;
  }

  if (where.name === 'join') {
    replaceChildren(root, h('p', { class: 'loading', role: 'status' }, 'Joining your partner…'));
    try {
      await api.post('/couples/join', { invite_code: where.code });
      app.notice = { kind: 'ok', text: "You've joined your partner's couple space. Welcome." };
    } catch (error) {
      app.notice = { kind: 'error', text: error.message };
    }
    if (token !== app.routeToken) return;
    app.me = null; // couples changed: load again
    navigate('/', { replace: true });
    return;
  }

  if (where.name === 'session') {
    document.title = 'Session · Mend';
    app.view = renderSession(root, {
      sessionId: where.sessionId,
      user: app.me.user,
      navigate,
      onAuthLost: (error, resume) => handleAuthLost(error, resume),
    });
    setBusy(false);
    if (focus) focusTitle();
    return;
  }

  if (where.name === 'home') {
    // Fresh /me each time home is shown (couples and sessions change elsewhere).
    try {
      const fresh = await fetchMe();
      if (token !== app.routeToken) return;
      if (!fresh) {
        app.me = null;
        route();
        return;
      }
      app.me = fresh;
    } catch (error) {
      if (token !== app.routeToken) return;
      renderProblem(error.message, () => route());
      setBusy(false);
      return;
    }
    document.title = 'Home · Mend';
    const notice = app.notice;
    app.notice = null;
    app.view = renderHome(root, {
      me: app.me,
      notice,
      navigate,
      onAuthLost: () => handleAuthLost(),
    });
    setBusy(false);
    if (focus) focusTitle();
    return;
  }

  document.title = 'Not found · Mend';
  replaceChildren(root, h('div', { class: 'card' },
    h('h1', { class: 'view-title', tabIndex: -1 }, "There's nothing here"),
    h('p', null, 'This address does not match a page in Mend.'),
    h('a', { href: '/', 'data-link': '', class: 'button-link' }, 'Go to home')));
  setBusy(false);
  if (focus) focusTitle();
}

async function handleAuthLost(error, resume) {
  let me = null;
  try {
    me = await fetchMe();
  } catch {
    // Can't tell (network): treat it as still logged in and let socket.io keep retrying.
    if (resume) resume();
    return;
  }
  if (me) {
    app.me = me;
    if (resume) resume();
    else if (error && error.code !== 'kicked') {
      // Logged in but the connection was refused for another reason.
      app.notice = { kind: 'error', text: error.message };
      route({ focus: true });
    }
    return;
  }
  destroyView();
  app.me = null;
  app.notice = { kind: 'error', text: 'Your log-in has ended. Please log in again — your submitted answers are safe.' };
  route();
}

function renderProblem(message, retry) {
  replaceChildren(root, h('div', { class: 'card' },
    h('h1', { class: 'view-title', tabIndex: -1 }, "We couldn't load Mend"),
    h('p', { class: 'notice notice-error', role: 'alert' }, message),
    h('button', { type: 'button', class: 'primary', onclick: retry }, 'Try again')));
}

// Same-origin links marked data-link navigate without a page load.
document.addEventListener('click', (event) => {
  if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  const link = event.target.closest && event.target.closest('a[data-link]');
  if (!link || link.target || link.origin !== location.origin) return;
  event.preventDefault();
  if (link.pathname === location.pathname) {
    route();
    return;
  }
  navigate(link.pathname);
});

window.addEventListener('popstate', () => route());

route();
