// Mend browser client: bootstrap and a small router over location.pathname.
//   /                home (or, signed out, "Create an account")
//   /join/<code>     the invite: checked first; sign up if needed, then join the couple
//   /s/<id>          a session
//   /s/<id>/summary  a session's summary
//   /reset/<token>   choose a new password (the link from a reset e-mail)
//   /account         your account: change the password, download your data, delete it
//   /counsellor      a counsellor's dashboard (a granted counsellor's home goes here)
//   /counsellor/join/<code>  a counsellor joins a couple's session with their code
//   anything else    "Page not found"
// One Socket.IO connection (js/socket.js `appSocket`) serves every screen: it is opened
// once someone is logged in and closed on log-out, when the log-in ends, or on Leave quickly.
//
// After "Leave quickly" there must be no way back in (issue 15):
// * moving between screens never adds a history entry (replaceState): Back leaves Mend;
// * the log-in is locked on the server (js/help.js sends the lock as the page goes), so any
//   tab of it, and this address reopened, shows only "Enter your password to continue";
// * every tab title is just "Mend" (no track, no name);
// * a page the browser brings back from its back/forward cache is loaded afresh.

import { h, replaceChildren, announce } from './js/dom.js';
import { api, fetchMe, fetchInvite, logOut, ApiError, isLocked } from './js/api.js';
import { appSocket } from './js/socket.js';
import { renderAuth } from './js/views/auth.js';
import { renderHome } from './js/views/home.js';
import { renderSession } from './js/views/session.js';
import { renderSummary } from './js/views/summary.js';
import { renderInvite, inviteProblem } from './js/views/invite.js';
import { renderNotFound } from './js/views/notfound.js';
import { renderReset } from './js/views/reset.js';
import { renderLock } from './js/views/lock.js';
import { renderAccount } from './js/views/account.js';
import { renderCounsellorDashboard, renderCounsellorJoin, isCounsellor } from './js/views/counsellor.js';

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
  match = pathname.match(/^\/s\/([^/]+)\/summary\/?$/);
  if (match) return { name: 'summary', sessionId: decodeURIComponent(match[1]) };
  match = pathname.match(/^\/reset\/([^/]+)\/?$/);
  if (match) return { name: 'reset', token: decodeURIComponent(match[1]) };
  match = pathname.match(/^\/counsellor\/join\/([^/]+)\/?$/);
  if (match) return { name: 'counsellor-join', code: decodeURIComponent(match[1]) };
  if (/^\/counsellor\/?$/.test(pathname)) return { name: 'counsellor' };
  if (/^\/account\/?$/.test(pathname)) return { name: 'account' };
  if (pathname === '/' || pathname === '') return { name: 'home' };
  return { name: 'not-found' };
}

export function navigate(path, { replace = false } = {}) {
  // Drafts are flushed on leaving; only a submit still waiting for its ack is at risk.
  if (!replace && app.view && app.view.hasPendingSubmit && app.view.hasPendingSubmit()
      && !window.confirm('Your answer is still being sent. If you leave now it may not arrive. Leave anyway?')) {
    return;
  }
  // Always replaced, never pushed: the tab's history holds one entry for Mend, whatever was
  // visited, so once Leave quickly replaces it with another site, Back never reaches Mend.
  // The address still follows the screen, so reloading and deep links work.
  history.replaceState(null, '', path);
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
      appSocket.close(); // before the server closes it, which would read as "kicked"
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
    h('a', { href: '/account', 'data-link': '', class: 'link-button', testid: 'account-link' },
      'Account'),
    button);
}

function setBusy(busy) {
  if (busy) root.setAttribute('aria-busy', 'true');
  else root.removeAttribute('aria-busy');
}

function focusTitle() {
  const title = root.querySelector('.view-title');
  if (title) title.focus({ preventScroll: true });
  // A new screen: the next Tab goes to Leave quickly first (js/help.js).
  window.dispatchEvent(new Event('mend:view'));
}

/** Only "Enter your password to continue": Leave quickly locked this log-in. */
function showLock() {
  if (app.view && app.view.isLock) return;
  app.routeToken += 1; // whatever was loading is dropped
  destroyView();
  appSocket.close();
  app.me = null;
  app.notice = null;
  renderTopbar();
  document.title = 'Mend';
  app.view = renderLock(root, {
    onUnlocked: async () => {
      appSocket.close(); // the next connection carries the new cookie
      app.view = null;
      app.me = await fetchMe();
      route(); // where the person was: the address was kept
    },
    onLoggedOut: () => {
      app.view = null;
      app.me = null;
      navigate('/', { replace: true });
    },
  });
  app.view.isLock = true;
  setBusy(false);
  focusTitle();
}

// Any answer saying the log-in is locked, from whichever screen asked.
window.addEventListener('mend:locked', () => showLock());

// Back/forward cache: a Mend page the browser kept is loaded afresh (it may be locked now).
window.addEventListener('pageshow', (event) => {
  if (event.persisted) {
    document.body.hidden = true;
    location.reload();
  }
});

async function route({ focus = true } = {}) {
  const token = ++app.routeToken;
  destroyView();
  const where = parseRoute(location.pathname);
  setBusy(true);

  // These need no log-in (and must not wait for one).
  if (where.name === 'not-found') {
    renderNotFound(root);
    setBusy(false);
    if (focus) focusTitle();
    if (!app.me) {
      // Still show who is logged in, in the top bar.
      app.me = await fetchMe().catch(() => null);
      if (token === app.routeToken) renderTopbar();
    }
    return;
  }
  if (where.name === 'reset') {
    // Saving the new password ends every log-in of that account, this page's socket too:
    // closed first, so that isn't mistaken for a lost log-in.
    appSocket.close();
    renderReset(root, {
      token: where.token,
      onDone: async () => {
        appSocket.close(); // the log-in changed: the next connection carries the new cookie
        app.me = await fetchMe();
        app.notice = { kind: 'ok', text: 'Your new password is saved, and you are logged in.' };
        navigate('/', { replace: true });
      },
    });
    setBusy(false);
    if (focus) focusTitle();
    return;
  }

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
  if (!app.me && isLocked()) {
    showLock();
    return;
  }
  renderTopbar();

  const onAuthed = async () => {
    appSocket.close(); // a connection from before the log-in carries no (or another) cookie
    app.me = await fetchMe();
    route();
  };

  if (!app.me) {
    appSocket.close();
    const notice = app.notice && app.notice.text;
    app.notice = null;
    if (where.name === 'join') {
      document.title = 'Mend';
      app.view = renderInvite(root, { code: where.code, notice, onAuthed });
      await app.view.ready;
      if (token !== app.routeToken) return;
    } else {
      document.title = 'Mend';
      renderAuth(root, { notice, onAuthed });
    }
    setBusy(false);
    if (focus) focusTitle();
    return;
  }

  appSocket.open();

  if (where.name === 'join') {
    replaceChildren(root, h('p', { class: 'loading', role: 'status', testid: 'joining' }, 'Joining your partner…'));
    app.notice = await joinByInvite(where.code);
    if (token !== app.routeToken) return;
    app.me = null; // couples changed: load again
    navigate('/', { replace: true });
    return;
  }

  if (where.name === 'counsellor' || where.name === 'counsellor-join') {
    // A fresh /me: the counsellor role may have been granted since this page loaded.
    try {
      const fresh = await fetchMe();
      if (token !== app.routeToken) return;
      if (fresh) app.me = fresh;
    } catch {
      // Keep the log-in we know; the page itself reports a network problem.
    }
    if (where.name === 'counsellor') {
      document.title = 'Mend';
      app.view = renderCounsellorDashboard(root, { me: app.me, navigate, onAuthLost: () => handleAuthLost() });
    } else {
      document.title = 'Mend';
      app.view = renderCounsellorJoin(root, { code: where.code, me: app.me, navigate });
    }
    setBusy(false);
    if (focus) focusTitle();
    return;
  }

  if (where.name === 'account') {
    document.title = 'Mend';
    app.view = renderAccount(root, {
      me: app.me,
      onDeleted: (text) => {
        destroyView();
        appSocket.close();
        app.me = null;
        app.notice = { kind: 'ok', text };
        navigate('/', { replace: true });
      },
    });
    setBusy(false);
    if (focus) focusTitle();
    return;
  }

  if (where.name === 'summary') {
    document.title = 'Mend';
    app.view = renderSummary(root, {
      sessionId: where.sessionId,
      user: app.me.user,
      navigate,
      onAuthLost: (error, resume) => handleAuthLost(error, resume),
    });
    setBusy(false);
    if (focus) focusTitle();
    return;
  }

  if (where.name === 'session') {
    document.title = 'Mend';
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
    // A counsellor (or an account waiting to be one) never has a couple of its own: their
    // home is the dashboard, which also says when the role is still waiting for approval.
    if ((isCounsellor(app.me) || app.me.user.counsellor_requested) && !(app.me.couples || []).length) {
      navigate('/counsellor', { replace: true });
      return;
    }
    document.title = 'Mend';
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

  renderNotFound(root);
  setBusy(false);
  if (focus) focusTitle();
}

/** Check an invite, then join with it. Returns the notice the home shows. */
async function joinByInvite(code) {
  let invite;
  try {
    invite = await fetchInvite(code);
  } catch (error) {
    const text = error instanceof ApiError && error.code === 'not_found'
      ? inviteProblem('not_found').text : error.message;
    return { kind: 'error', text };
  }
  if (invite.status !== 'open') {
    return { kind: invite.status === 'used' ? 'error' : 'ok', text: inviteProblem(invite.status).text };
  }
  try {
    await api.post('/couples/join', { invite_code: code });
    return { kind: 'ok', text: "You've joined your partner's couple space. Welcome." };
  } catch (error) {
    return { kind: 'error', text: error.message };
  }
}

// The session screen and the app's socket can both report a lost log-in at once (a log-out
// in another tab closes the one socket): one /me check answers them all.
let authCheck = null;

function checkAuth() {
  if (!authCheck) {
    authCheck = fetchMe().then((me) => ({ me }), () => ({ unknown: true }))
      .finally(() => { authCheck = null; });
  }
  return authCheck;
}

async function handleAuthLost(error, resume) {
  const { me, unknown } = await checkAuth();
  if (unknown) {
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
  if (isLocked()) {
    showLock();
    return;
  }
  if (!app.me) return; // another report of the same loss already handled it
  destroyView();
  appSocket.close();
  app.me = null;
  app.notice = { kind: 'error', text: 'Your log-in has ended. Please log in again — your submitted answers are safe.' };
  route();
}

// The home has no SessionConnection to report these; the session screen gets them too, and
// the shared check above keeps that to one answer.
appSocket.on('kicked', () => {
  if (app.me) handleAuthLost({ code: 'kicked', message: 'You were disconnected.' }, () => appSocket.reconnect());
});
appSocket.on('refused', (error) => {
  if (app.me) handleAuthLost(error);
});

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
