// The counsellor's own pages:
//   /counsellor              the dashboard: every session they joined, live (who is online,
//                            the step, who has submitted, breaks, the check's flag)
//   /counsellor/join/<code>  join a couple's session with the code they sent
// Both say plainly what an account that isn't (yet) a counsellor can and can't do here.
//
// Live: the server sends `session:state` (the counsellor's full view) to `user:<id>` after
// every change to a session they take part in, whether or not that session is open here;
// a row is rebuilt from it (the same shape as the server's `dashboard_row`). Someone coming
// online or leaving comes as `presence` (the counsellor's socket watches every session they
// take part in) and sets that row's online dots. A session the counsellor was removed from
// comes as `me:state`, so the list is fetched again then, on every (re)connect and every
// minute.

import { h, replaceChildren, announce, formatDate, formatTime } from '../dom.js';
import { api, ApiError } from '../api.js';
import { appSocket } from '../socket.js';

const REFRESH_MS = 60_000;
const CONNECTION_TEXT = {
  reconnecting: "Reconnecting… this page will catch up when we're back.",
  offline: "You're offline. This page will catch up when you're back online.",
};

export function isCounsellor(me) {
  return Boolean(me && me.user && me.user.role === 'counsellor');
}

/** For an account that isn't a counsellor: why, and what happens next. */
function notCounsellor(user) {
  if (user.counsellor_requested) {
    return h('section', { class: 'card', testid: 'counsellor-pending', 'aria-labelledby': 'pending-title' },
      h('h2', { id: 'pending-title' }, 'Your counsellor account is waiting for approval'),
      h('p', null, "Mend's administrator checks every counsellor before they can join a couple's session. You'll be able to join sessions here once your account is approved."),
      h('p', { class: 'muted' }, 'Nothing else to do for now. This page shows your sessions once you are approved.'));
  }
  return h('section', { class: 'card', testid: 'counsellor-not-counsellor', 'aria-labelledby': 'not-counsellor-title' },
    h('h2', { id: 'not-counsellor-title' }, 'This page is for counsellors'),
    h('p', null, "Counsellor accounts are set up by Mend's administrator. If a couple invited you, ask them to wait until your account is approved."),
    h('a', { href: '/', 'data-link': '', class: 'button-link' }, 'Back to home'));
}

/** One dashboard row from a full view (mirrors server/engine/visibility.dashboard_row). */
export function rowFromView(view) {
  const current = (view.steps || []).find((s) => s.id === view.session.current_step_id) || null;
  return {
    session: view.session,
    partners: view.participants.filter((p) => p.role === 'partner'),
    step: current && {
      id: current.id, title: current.title, kind: current.kind,
      submitted: current.submitted ?? null, held: Boolean(current.held),
    },
    break: view.session.break || null,
    // The private check's flag names nobody (server/engine/check.py): one line per session.
    flags: view.check && view.check.flag ? [{ message: view.check.message }] : [],
    moderation: view.moderation || {},
  };
}

// ---- the dashboard ------------------------------------------------------------------------

export function renderCounsellorDashboard(root, { me, navigate, onAuthLost }) {
  let rows = null; // [row] once loaded
  let error = null;
  let destroyed = false;
  let joinCode = '';
  let lastSignature = null;
  const user = me.user;

  const view = h('div', { class: 'counsellor-dashboard' });
  const connectionEl = h('p', { class: 'home-connection', role: 'status', testid: 'dashboard-connection', hidden: true });
  replaceChildren(root, view);

  async function load() {
    try {
      const data = await api.get('/counsellor/sessions');
      if (destroyed) return;
      const before = rows;
      rows = data.sessions || [];
      error = null;
      announceNewFlags(before, rows);
    } catch (err) {
      if (destroyed) return;
      if (err instanceof ApiError && err.status === 401) { onAuthLost(); return; }
      error = err.message;
    }
    render();
  }

  function announceNewFlags(before, after) {
    if (!before) return;
    const known = new Set(before.filter((r) => r.flags.length).map((r) => r.session.id));
    for (const row of after) {
      if (row.flags.length && !known.has(row.session.id)) {
        announce(`${row.partners.map((p) => p.display_name).join(' and ')}: check in with each partner privately.`);
      }
    }
  }

  function applyView(payload) {
    if (!payload || !payload.session || !rows || !payload.viewer || payload.viewer.role !== 'counsellor') return;
    const index = rows.findIndex((r) => r.session.id === payload.session.id);
    if (index === -1) {
      load(); // a session this list doesn't know yet
      return;
    }
    if (!(payload.session.version > rows[index].session.version)) return;
    const before = rows;
    rows = rows.slice();
    rows[index] = rowFromView(payload);
    announceNewFlags(before, rows);
    render();
  }

  function applyPresence(presence) {
    if (!presence || !rows || !Array.isArray(presence.online)) return;
    const index = rows.findIndex((r) => r.session.id === presence.session_id);
    if (index === -1) return;
    const online = new Set(presence.online);
    rows = rows.slice();
    rows[index] = {
      ...rows[index],
      partners: rows[index].partners.map((p) => ({ ...p, online: online.has(p.user_id) })),
    };
    render(); // re-renders only when a dot changed (the signature)
  }

  function render() {
    if (destroyed) return;
    const signature = JSON.stringify([rows, error]);
    if (signature === lastSignature) return;
    lastSignature = signature;
    const focus = document.activeElement && view.contains(document.activeElement)
      ? document.activeElement.getAttribute('data-testid') : null;
    replaceChildren(view,
      h('h1', { class: 'view-title', tabIndex: -1, testid: 'dashboard-title' }, 'Your sessions'),
      h('p', { class: 'lede' }, `Hello, ${user.display_name}. Couples who invite you appear here; their sessions update as they go.`),
      connectionEl,
      error ? h('div', { class: 'notice notice-error', role: 'alert', testid: 'dashboard-error' },
        h('p', null, error),
        h('button', { type: 'button', class: 'secondary', onclick: () => { error = null; load(); } }, 'Try again')) : null,
      joinCard(),
      listCard());
    if (focus) view.querySelector(`[data-testid="${CSS.escape(focus)}"]`)?.focus({ preventScroll: true });
  }

  function joinCard() {
    const input = h('input', {
      id: 'counsellor-code', type: 'text', autocomplete: 'off', testid: 'dashboard-join-code', maxLength: 64,
      spellcheck: false, autocapitalize: 'characters', 'aria-describedby': 'counsellor-code-hint', value: joinCode,
      oninput: (event) => { joinCode = event.target.value; },
    });
    const problem = h('p', { class: 'form-error', role: 'alert', hidden: true, testid: 'dashboard-join-error' });
    const form = h('form', { class: 'join-form', novalidate: true },
      h('div', { class: 'field' },
        h('label', { for: 'counsellor-code' }, 'Counsellor code'),
        h('p', { class: 'hint', id: 'counsellor-code-hint' }, 'The code a couple sent you. They both need to have agreed.'),
        h('div', { class: 'copy-row' }, input,
          h('button', { type: 'submit', class: 'secondary', testid: 'dashboard-join-submit' }, 'Continue'))),
      problem);
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const code = input.value.trim();
      if (!code) {
        problem.textContent = 'Enter the code the couple sent you.';
        problem.hidden = false;
        input.focus();
        return;
      }
      joinCode = '';
      navigate(`/counsellor/join/${encodeURIComponent(code)}`);
    });
    return h('section', { class: 'card', 'aria-labelledby': 'dashboard-join-title', testid: 'dashboard-join' },
      h('h2', { id: 'dashboard-join-title' }, 'Join a session'), form);
  }

  function listCard() {
    const section = h('section', { class: 'card', 'aria-labelledby': 'dashboard-list-title', testid: 'dashboard-sessions' },
      h('h2', { id: 'dashboard-list-title' }, 'Sessions'));
    if (rows === null) {
      section.append(h('p', { class: 'muted', role: 'status', testid: 'dashboard-loading' }, 'Loading your sessions…'));
      return section;
    }
    if (!rows.length) {
      section.append(h('p', { class: 'empty', testid: 'dashboard-empty' },
        'No sessions yet. When a couple invites you, they send you a code or a link: enter the code above, or open the link.'));
      return section;
    }
    const live = rows.filter((r) => r.session.status === 'active');
    const past = rows.filter((r) => r.session.status !== 'active');
    section.append(h('ul', { class: 'dashboard-list' }, [...live, ...past].map(rowItem)));
    return section;
  }

  function rowItem(row) {
    const { session, partners, step } = row;
    const id = session.id;
    const names = partners.map((p) => p.display_name).join(' & ') || 'A couple';
    const active = session.status === 'active';
    const titleId = `row-title-${id}`;
    const lines = [];
    lines.push(h('ul', { class: 'people dashboard-people', 'aria-label': `Who is online in ${names}'s session` },
      partners.map((p) => h('li', { class: p.online ? 'person online' : 'person', testid: 'dash-partner', 'data-user-id': p.user_id },
        h('span', { class: 'dot', 'aria-hidden': 'true' }),
        h('span', null, p.display_name),
        // In words, not only a filled or hollow dot (issue 16).
        h('span', { class: 'presence-word', testid: 'presence' }, p.online ? ' is here' : ' is away')))));
    if (active && step) {
      lines.push(h('p', { class: 'dash-step', testid: 'dash-step' },
        `Step ${session.step_index} of ${session.step_count}: ${step.title}`,
        step.held ? h('span', { class: 'badge badge-underway', testid: 'dash-held' }, 'Held') : null));
      if (Array.isArray(step.submitted)) {
        const done = new Set(step.submitted);
        lines.push(h('p', { class: 'muted small', testid: 'dash-submitted' },
          partners.map((p) => (done.has(p.user_id) ? `${p.display_name} has submitted` : `${p.display_name} hasn't yet`)).join(' · ')));
      }
    } else if (!active) {
      const when = session.finished_at ? ` ${formatDate(session.finished_at)}` : '';
      lines.push(h('p', { class: 'muted small', testid: 'dash-finished' },
        session.status === 'ended' ? `Ended${when}` : session.status === 'cancelled' ? `Cancelled by a partner${when}` : `Finished${when}`));
    }
    if (row.break) {
      const who = partners.find((p) => p.user_id === row.break.by_user_id);
      lines.push(h('p', { class: 'dash-break', testid: 'dash-break' },
        `On a break${who ? `, asked by ${who.display_name}` : ''}, until ${formatTime(row.break.until)}.`));
    }
    for (const flag of row.flags || []) {
      lines.push(h('p', { class: 'dash-flag', testid: 'dash-flag' },
        h('strong', null, `${flag.message || 'Check in with each partner privately'}.`),
        " Someone's answers at the private check suggest it. Mend doesn't say who, and nothing of it reaches either partner."));
    }
    return h('li', { class: ['dashboard-row', (row.flags || []).length && 'flagged'], testid: `dash-row-${id}` },
      h('div', { class: 'dash-head' },
        h('h3', { id: titleId, class: 'dash-title' }, names,
          h('span', { class: 'dash-track' }, ` · ${(session.track && session.track.title) || 'Session'}`)),
        h('a', {
          href: `/s/${encodeURIComponent(id)}`, 'data-link': '', class: active ? 'button-link primary-link' : 'button-link',
          testid: `dash-open-${id}`, 'aria-describedby': titleId,
        }, active ? 'Open' : 'Read')),
      lines);
  }

  function renderConnection(status) {
    const text = CONNECTION_TEXT[status] || '';
    connectionEl.hidden = !text;
    connectionEl.dataset.status = status;
    replaceChildren(connectionEl, text ? [h('span', { class: 'dot', 'aria-hidden': 'true' }), text] : []);
  }

  if (!isCounsellor(me)) {
    replaceChildren(view,
      h('h1', { class: 'view-title', tabIndex: -1, testid: 'dashboard-title' }, 'Counsellors'),
      notCounsellor(user));
    return { destroy() { destroyed = true; } };
  }

  const unsubscribe = [
    appSocket.on('session:state', (payload) => { if (!destroyed) applyView(payload); }),
    appSocket.on('presence', (payload) => { if (!destroyed) applyPresence(payload); }),
    appSocket.on('connect', () => { if (!destroyed) load(); }),
    // A couple removed this counsellor (their sessions changed): load the list again.
    appSocket.on('me:state', () => { if (!destroyed) load(); }),
    appSocket.on('status', (status) => { if (!destroyed) renderConnection(status); }),
  ];
  const timer = setInterval(() => { if (appSocket.connected) load(); }, REFRESH_MS);
  render();
  renderConnection(appSocket.status);
  load();

  return {
    destroy() {
      destroyed = true;
      clearInterval(timer);
      unsubscribe.forEach((off) => off());
    },
  };
}

// ---- joining with a code ------------------------------------------------------------------

const JOIN_PROBLEMS = {
  forbidden: 'You can’t join this session yet.',
  not_found: 'This code doesn’t match any invite. Check it with the couple; codes work once.',
  conflict: 'You can’t join this session with this code.',
};

export function renderCounsellorJoin(root, { code, me, navigate }) {
  let busy = false;
  let destroyed = false;
  const user = me.user;
  const view = h('div', { class: 'counsellor-join' });
  replaceChildren(root, view);

  if (!isCounsellor(me)) {
    replaceChildren(view,
      h('h1', { class: 'view-title', tabIndex: -1, testid: 'counsellor-join-title' }, 'Join a couple’s session'),
      h('p', { class: 'notice notice-error', testid: 'counsellor-join-problem', 'data-code': 'not_counsellor' },
        'Only an approved counsellor account can join a couple’s session with this code.'),
      notCounsellor(user));
    return { destroy() { destroyed = true; } };
  }

  const input = h('input', {
    id: 'counsellor-join-code', type: 'text', autocomplete: 'off', testid: 'counsellor-join-code', maxLength: 64,
    spellcheck: false, value: code || '', 'aria-describedby': 'counsellor-join-hint',
  });
  const problem = h('div', { class: 'notice notice-error', role: 'alert', tabIndex: -1, hidden: true, testid: 'counsellor-join-error' });
  const button = h('button', { type: 'submit', class: 'primary', testid: 'counsellor-join-submit' }, 'Join the session');
  const form = h('form', { class: 'stack', novalidate: true },
    h('div', { class: 'field' },
      h('label', { for: 'counsellor-join-code' }, 'Counsellor code'),
      h('p', { class: 'hint', id: 'counsellor-join-hint' }, 'From the couple’s invite. It works once.'),
      input),
    problem,
    h('div', { class: 'confirm-actions' }, button,
      h('a', { href: '/counsellor', 'data-link': '', class: 'button-link quiet', testid: 'counsellor-join-cancel' }, 'Back to your sessions')));

  function showProblem(errorCode, message) {
    problem.dataset.code = errorCode;
    replaceChildren(problem,
      h('p', { class: 'problem-title' }, JOIN_PROBLEMS[errorCode] || 'We couldn’t join you to this session.'),
      h('p', { testid: 'counsellor-join-reason' }, message));
    problem.hidden = false;
    problem.focus();
  }

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (busy) return;
    const value = input.value.trim();
    if (!value) {
      showProblem('invalid', 'Enter the code the couple sent you.');
      input.focus();
      return;
    }
    busy = true;
    button.disabled = true;
    button.textContent = 'Joining…';
    problem.hidden = true;
    try {
      const result = await api.post('/counsellor/join', { invite_code: value });
      if (destroyed) return;
      announce('You have joined the session. The partners are told that you are here.');
      navigate(`/s/${encodeURIComponent(result.session.id)}`, { replace: true });
    } catch (error) {
      if (destroyed) return;
      busy = false;
      button.disabled = false;
      button.textContent = 'Join the session';
      showProblem(error.code || 'internal', error.message);
    }
  });

  replaceChildren(view,
    h('h1', { class: 'view-title', tabIndex: -1, testid: 'counsellor-join-title' }, 'Join a couple’s session'),
    h('section', { class: 'card', 'aria-labelledby': 'counsellor-join-what' },
      h('h2', { id: 'counsellor-join-what' }, 'Before you join'),
      h('p', null, 'You can join once both partners have agreed in their session. They are told at once that you are there, and that you can see the answers they submit once shown, never drafts or their private safety check.'),
      h('p', null, 'Everything you do in the session, and every time you read their answers, is listed for both of them. Your notes stay private to you.'),
      form));
  return { destroy() { destroyed = true; } };
}
