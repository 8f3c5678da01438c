// Home: greeting, the couple card (create / invite / join), sessions under way, the track
// picker (finished tracks marked, the next one suggested) and past sessions.
//
// It is live: the server pushes `me:state` (the GET /me payload) over the app's one socket
// whenever this person's couples or sessions change, and the home re-renders in place,
// keeping focus, what is being typed and the track chosen. After every (re)connect it loads
// /me again, so a push missed while disconnected is caught up.

import { h, replaceChildren, announce, formatDate, copyText } from '../dom.js';
import { api, fetchMe } from '../api.js';
import { deviceNote } from './privacy.js';
import { appSocket } from '../socket.js';
import { checkinsCard } from './checkins.js';
import { agreementsCard } from './agreements.js';

const CONNECTION_TEXT = {
  reconnecting: "Reconnecting… this page will catch up when we're back.",
  offline: "You're offline. This page will catch up when you're back online.",
};

export function renderHome(root, { me, notice = null, navigate, onAuthLost }) {
  let data = me;
  let tracks = null;
  let tracksError = null;
  let destroyed = false;
  let flash = notice; // {kind: 'ok'|'error', text}
  let busy = null; // 'create' | 'start' | 'join' while a request runs
  let chosenTrack = null; // the track the person picked (kept across live updates)
  let confirmStart = null; // the track whose Start is waiting for "Yes, start" (kept likewise)
  let joinCode = ''; // what is typed in the join field (kept across live updates)
  let joinOpen = false; // the "Did your partner already send you a code?" disclosure
  let lastSignature = null;

  const view = h('div', { class: 'home' });
  const connectionEl = h('p', {
    class: 'home-connection', role: 'status', testid: 'home-connection', 'data-status': appSocket.status,
  });
  replaceChildren(root, view);

  async function reload() {
    try {
      const fresh = await fetchMe();
      if (destroyed) return;
      if (!fresh) { onAuthLost(); return; }
      apply(fresh);
    } catch (error) {
      if (!destroyed) setFlash({ kind: 'error', text: error.message });
    }
  }

  /** A new /me payload, from a push or a fetch. */
  function apply(fresh) {
    if (!fresh || !fresh.user || (data && fresh.user.id !== data.user.id)) return;
    const before = data;
    data = fresh;
    announceChanges(before, fresh);
    render();
  }

  async function loadTracks() {
    if (tracks || destroyed) return;
    try {
      const result = await api.get('/tracks');
      tracks = result.tracks || [];
      tracksError = null;
    } catch (error) {
      tracksError = error.message;
    }
    if (!destroyed) render({ force: true });
  }

  function setFlash(value) {
    flash = value;
    render({ force: true });
  }

  // ---- what the data says -----------------------------------------------------------------

  function derive() {
    const user = data.user;
    const couples = data.couples || [];
    const complete = couples.find((c) => c.status === 'complete') || null;
    const waiting = couples.find((c) => c.status === 'waiting') || null;
    const expired = couples.find((c) => c.status === 'expired') || null;
    const partner = complete ? (complete.partners || []).find((p) => p.user_id !== user.id) || null : null;
    const sessions = complete
      ? (data.sessions || []).filter((s) => !s.couple_id || s.couple_id === complete.id) : [];
    return {
      user,
      complete,
      waiting: complete ? null : waiting,
      expired: complete || waiting ? null : expired,
      partner,
      active: sessions.filter((s) => s.status === 'active'),
      past: sessions.filter((s) => s.status !== 'active'),
    };
  }

  function startedByPartner(session) {
    return Boolean(session.created_by && session.created_by.user_id !== data.user.id);
  }

  function trackTitle(session) {
    return (session.track && session.track.title) || 'a session';
  }

  function announceChanges(before, after) {
    if (!before) return;
    const wasComplete = (before.couples || []).some((c) => c.status === 'complete');
    const { complete, partner, active } = derive();
    if (complete && !wasComplete) {
      announce(`${partner ? partner.display_name : 'Your partner'} has joined your couple space.`);
    }
    const known = new Set((before.sessions || []).map((s) => s.id));
    for (const s of active) {
      if (!known.has(s.id) && startedByPartner(s)) {
        announce(`${s.created_by.display_name} started ${trackTitle(s)}. You can join it now.`);
      }
    }
  }

  // ---- rendering --------------------------------------------------------------------------

  function render({ force = false } = {}) {
    if (destroyed) return;
    // Live pushes often repeat what is shown: leave the page alone then.
    const signature = JSON.stringify([data, Boolean(tracks), tracksError, flash, busy]);
    if (!force && signature === lastSignature) return;
    lastSignature = signature;

    const { user, complete, waiting, expired, partner, active, past } = derive();
    const focus = rememberFocus();

    replaceChildren(view,
      h('h1', { class: 'view-title', tabIndex: -1, testid: 'greeting' }, `Hello, ${user.display_name}`),
      h('p', { class: 'lede' }, complete
        ? `This is your shared space with ${partner ? partner.display_name : 'your partner'}. Take it at your own pace.`
        : 'Mend works with two people. Start by making a space for the two of you.'),
      connectionEl,
      flash ? h('p', {
        class: flash.kind === 'error' ? 'notice notice-error' : 'notice',
        role: flash.kind === 'error' ? 'alert' : 'status',
        testid: 'home-notice',
      }, flash.text) : null,
      counsellorCard(user),
      partnerStarted(active),
      coupleCard({ complete, waiting, expired, partner }),
      // First use, while the couple space is set up: what Mend can and cannot hide.
      complete ? null : deviceNote({ id: 'home-device-note', testid: 'home-device-note' }),
      complete && active.length ? activeCard(active) : null,
      complete ? trackCard(complete, active) : null,
      complete ? agreementsCard(complete.id, data) : null,
      complete ? checkinsCard(complete.id, data) : null,
      complete ? pastCard(past, active.length > 0) : null);

    renderConnection(appSocket.status);
    restoreFocus(focus);
    if (complete && !tracks && !tracksError) loadTracks();
  }

  function rememberFocus() {
    const el = document.activeElement;
    if (!el || !view.contains(el)) return null;
    return {
      testid: el.getAttribute('data-testid'),
      id: el.id,
      selection: typeof el.selectionStart === 'number' ? [el.selectionStart, el.selectionEnd] : null,
    };
  }

  function restoreFocus(focus) {
    if (!focus) return;
    const again = (focus.testid && view.querySelector(`[data-testid="${CSS.escape(focus.testid)}"]`))
      || (focus.id && view.querySelector(`#${CSS.escape(focus.id)}`));
    if (!again) return;
    again.focus({ preventScroll: true });
    if (focus.selection && typeof again.setSelectionRange === 'function') {
      try {
        again.setSelectionRange(...focus.selection);
      } catch {
        // Not a text field (a radio keeps no selection).
      }
    }
  }

  function renderConnection(status) {
    connectionEl.dataset.status = status;
    const text = CONNECTION_TEXT[status] || '';
    // Calm: nothing is shown while connected (or still connecting the first time).
    connectionEl.hidden = !text;
    replaceChildren(connectionEl, text ? [h('span', { class: 'dot', 'aria-hidden': 'true' }), text] : []);
  }

  // ---- counsellors ----------------------------------------------------------------------

  /** A granted counsellor's way to their sessions; a requested one's "waiting for approval". */
  function counsellorCard(user) {
    if (user.role === 'counsellor') {
      return h('section', { class: 'card partner-started', 'aria-labelledby': 'counsellor-home-title', testid: 'counsellor-home' },
        h('p', { class: 'partner-started-line' },
          h('span', { id: 'counsellor-home-title' }, 'You are a counsellor on Mend.'),
          h('a', { href: '/counsellor', 'data-link': '', class: 'button-link primary-link', testid: 'counsellor-dashboard-link' },
            'Your sessions as a counsellor')));
    }
    if (user.counsellor_requested) {
      return h('p', { class: 'notice', testid: 'counsellor-requested' },
        "Your counsellor account is waiting for approval by Mend's administrator. You'll find your sessions as a counsellor here once it is approved.");
    }
    return null;
  }

  // ---- "Robin started …" ------------------------------------------------------------------

  function partnerStarted(active) {
    // A session the partner started that nobody has moved past its first step yet.
    const fresh = active.filter((s) => startedByPartner(s) && (s.step_index || 1) <= 1);
    if (!fresh.length) return null;
    return h('section', { class: 'card partner-started', 'aria-label': 'Your partner started a session' },
      fresh.map((s) => h('p', { class: 'partner-started-line', testid: `partner-started-${s.id}` },
        h('span', null, `${s.created_by.display_name} started `, h('strong', null, `“${trackTitle(s)}”`)),
        h('a', {
          href: `/s/${s.id}`, 'data-link': '', class: 'button-link primary-link', testid: `join-session-${s.id}`,
          'aria-label': `Join ${trackTitle(s)}, started by ${s.created_by.display_name}`,
        }, 'Join'))));
  }

  // ---- the couple card --------------------------------------------------------------------

  function coupleCard({ complete, waiting, expired, partner }) {
    if (complete) {
      return h('section', { class: 'card couple-card', 'aria-labelledby': 'couple-title', testid: 'couple-card' },
        h('h2', { id: 'couple-title' }, 'Your couple space'),
        h('p', { testid: 'couple-complete' },
          'You and ', h('strong', null, partner ? partner.display_name : 'your partner'),
          ' are connected. Pick a track below whenever you are both ready.'));
    }
    if (waiting) {
      const details = h('details', { class: 'disclosure', open: joinOpen },
        h('summary', null, 'Did your partner already send you a code?'),
        joinForm());
      details.addEventListener('toggle', () => { joinOpen = details.open; });
      return h('section', { class: 'card couple-card', 'aria-labelledby': 'couple-title', testid: 'couple-card' },
        h('h2', { id: 'couple-title' }, 'Invite your partner'),
        inviteBlock(waiting.invite_code),
        h('p', { class: 'waiting', testid: 'waiting-for-partner' },
          h('span', { class: 'pulse', 'aria-hidden': 'true' }),
          'Waiting for your partner to join… This page updates by itself.'),
        details);
    }
    const createError = h('p', { class: 'form-error', role: 'alert', hidden: true, testid: 'create-error' });
    const createButton = h('button', {
      type: 'button', class: 'primary', testid: 'create-couple', disabled: busy === 'create',
      onclick: async () => {
        busy = 'create';
        createButton.disabled = true;
        createButton.textContent = 'Creating…';
        try {
          await api.post('/couples', {});
          busy = null;
          announce('Your couple space is ready. Share the invite code with your partner.');
          await reload();
          view.querySelector('[data-testid="invite-code"]')?.focus();
        } catch (error) {
          busy = null;
          createError.textContent = error.message;
          createError.hidden = false;
          createButton.disabled = false;
          createButton.textContent = 'Create our couple space';
        }
      },
    }, busy === 'create' ? 'Creating…' : 'Create our couple space');
    return h('section', { class: 'card couple-card', 'aria-labelledby': 'couple-title', testid: 'couple-card' },
      h('h2', { id: 'couple-title' }, 'Your couple space'),
      expired
        ? h('p', { class: 'notice', testid: 'invite-expired' },
          'Your invite code expired before your partner used it (codes last 7 days). '
          + 'Press the button below for a new one; the old code no longer works.')
        : h('p', { class: 'empty' }, "You haven't joined a couple space yet. One of you creates it, then sends the other an invite."),
      h('div', { class: 'stack' }, createButton, createError),
      h('hr'),
      h('h3', null, 'Have an invite code from your partner?'),
      joinForm());
  }

  function inviteBlock(code) {
    const link = `${location.origin}/join/${code}`;
    const copyStatus = h('span', { class: 'copy-status', role: 'status', testid: 'copy-status' });
    const linkInput = h('input', {
      id: 'invite-link', type: 'text', readOnly: true, value: link, testid: 'invite-link',
      onfocus: (event) => event.target.select(),
    });
    const copy = async () => {
      const copied = await copyText(link, linkInput);
      copyStatus.textContent = copied ? 'Link copied' : 'Select the link and copy it';
      setTimeout(() => { copyStatus.textContent = ''; }, 4000);
    };
    return h('div', { class: 'invite' },
      h('p', null, 'Send your partner this code, or the link below. They can use it once they have an account.'),
      h('p', { class: 'invite-code-line' },
        h('span', { class: 'label' }, 'Invite code'),
        h('code', { class: 'invite-code', testid: 'invite-code', tabIndex: -1 }, code)),
      h('div', { class: 'field' },
        h('label', { for: 'invite-link' }, 'Invite link'),
        h('div', { class: 'copy-row' },
          linkInput,
          h('button', { type: 'button', class: 'secondary', testid: 'copy-invite', onclick: copy }, 'Copy link'))),
      copyStatus);
  }

  function joinForm() {
    const input = h('input', {
      id: 'join-code', name: 'invite_code', type: 'text', autocomplete: 'off', required: true,
      testid: 'join-code', maxLength: 40, autocapitalize: 'characters', spellcheck: false,
      'aria-describedby': 'join-code-hint', value: joinCode,
      oninput: (event) => { joinCode = event.target.value; },
    });
    const error = h('p', { class: 'form-error', role: 'alert', hidden: true, testid: 'join-error' });
    const button = h('button', { type: 'submit', class: 'secondary', testid: 'join-submit', disabled: busy === 'join' }, 'Join');
    const form = h('form', { class: 'join-form', novalidate: true },
      h('div', { class: 'field' },
        h('label', { for: 'join-code' }, 'Invite code'),
        h('p', { class: 'hint', id: 'join-code-hint' }, '8 letters and numbers, from your partner.'),
        h('div', { class: 'copy-row' }, input, button)),
      error);
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const code = input.value.trim();
      if (!code) {
        error.textContent = 'Enter the invite code your partner sent you.';
        error.hidden = false;
        input.focus();
        return;
      }
      busy = 'join';
      button.disabled = true;
      error.hidden = true;
      try {
        await api.post('/couples/join', { invite_code: code });
        busy = null;
        joinCode = '';
        flash = { kind: 'ok', text: "You've joined your partner's couple space." };
        announce(flash.text);
        await reload();
      } catch (err) {
        busy = null;
        error.textContent = err.message;
        error.hidden = false;
        button.disabled = false;
        input.focus();
      }
    });
    return form;
  }

  // ---- sessions under way -----------------------------------------------------------------

  function sessionLine(s) {
    const who = !s.created_by ? null
      : startedByPartner(s) ? `${s.created_by.display_name} started it` : 'You started it';
    return [who, `step ${s.step_index} of ${s.step_count}`, `started ${formatDate(s.created_at)}`]
      .filter(Boolean).join(' · ');
  }

  function activeCard(active) {
    return h('section', { class: 'card', 'aria-labelledby': 'active-title', testid: 'active-sessions' },
      h('h2', { id: 'active-title' }, 'Under way'),
      h('ul', { class: 'session-list' }, active.map((s) => {
        const label = startedByPartner(s) && (s.step_index || 1) <= 1 ? 'Join' : 'Resume';
        return h('li', { class: 'session-item', testid: `session-${s.id}` },
          h('div', null,
            h('span', { class: 'session-title' }, trackTitle(s)),
            h('span', { class: 'session-meta' }, sessionLine(s))),
          h('a', {
            href: `/s/${s.id}`, 'data-link': '', class: 'button-link', testid: `session-link-${s.id}`,
            'aria-label': `${label} ${trackTitle(s)}`,
          }, label));
      })));
  }

  // ---- the track picker ---------------------------------------------------------------------

  function trackCard(couple, active) {
    const section = h('section', { class: 'card', 'aria-labelledby': 'tracks-title', testid: 'track-picker' },
      h('h2', { id: 'tracks-title' }, 'Start a session'));
    if (tracksError) {
      section.append(h('p', { class: 'form-error', role: 'alert' }, tracksError),
        h('button', {
          type: 'button', class: 'secondary', testid: 'tracks-retry',
          onclick: () => { tracksError = null; render({ force: true }); loadTracks(); },
        }, 'Try again'));
      return section;
    }
    if (!tracks) {
      section.append(h('p', { class: 'muted', role: 'status', testid: 'tracks-loading' }, 'Loading tracks…'));
      return section;
    }
    if (!tracks.length) {
      section.append(h('p', { class: 'empty', testid: 'tracks-empty' }, 'There are no tracks yet.'));
      return section;
    }
    const done = new Set(data.tracks_done || []);
    const suggested = data.suggested_track_id || null;
    const underWay = new Map(active.map((s) => [s.track && s.track.id, s]));
    const ids = tracks.map((t) => t.id);
    const selected = ids.includes(chosenTrack) ? chosenTrack
      : ids.includes(suggested) ? suggested : ids[0];

    const error = h('p', { class: 'form-error', role: 'alert', hidden: true, testid: 'start-error' });
    const buttonLabel = (trackId) => (underWay.has(trackId) ? 'Open the session under way' : 'Start session');
    const button = h('button', { type: 'submit', class: 'primary', testid: 'start-session', disabled: busy === 'start' },
      busy === 'start' ? 'Starting…' : buttonLabel(selected));

    if (done.size && !suggested) {
      section.append(h('p', { class: 'lede', testid: 'all-tracks-done' },
        "You've finished every track. You can go through any of them again whenever it helps."));
    }
    const options = tracks.map((track) => {
      const id = `track-${track.id}`;
      const input = h('input', {
        type: 'radio', name: 'track', id, value: track.id, testid: id,
        'aria-describedby': `${id}-about`,
      });
      input.checked = track.id === selected;
      const count = (track.steps || []).length;
      const badges = [
        suggested === track.id ? h('span', { class: 'badge badge-suggested', testid: 'track-suggested' }, 'Suggested next') : null,
        underWay.has(track.id) ? h('span', { class: 'badge badge-underway', testid: `track-underway-${track.id}` }, 'Under way') : null,
        done.has(track.id) ? h('span', { class: 'badge badge-done', testid: `track-done-${track.id}` }, '✓ Done') : null,
      ].filter(Boolean);
      return h('li', { class: ['track-option', done.has(track.id) && 'is-done'] },
        input,
        h('label', { for: id },
          h('span', { class: 'track-check', 'aria-hidden': 'true' }, h('span', { class: 'track-tick' })),
          h('span', { class: 'track-title' }, track.title, badges.length ? ' ' : null, badges,
            // Seen, not read: the radio itself tells a screen reader it is the one chosen.
            h('span', { class: 'track-selected', 'aria-hidden': 'true' }, ' · Selected')),
          h('span', { class: 'track-summary', id: `${id}-about` }, track.summary || ''),
          h('span', { class: 'track-meta' }, `${count} ${count === 1 ? 'step' : 'steps'}`)));
    });
    // Start asks first ("Start … with Sam?"), and says so when Sam has just started another
    // track: joining theirs is one press away (two Starts at once, js/views/starts.js).
    const confirming = confirmStart && confirmStart === selected && !underWay.has(selected);
    const form = h('form', { class: 'track-form' },
      h('fieldset', null,
        h('legend', null, 'Choose a track to work through together'),
        h('ul', { class: 'track-list' }, options)),
      error, confirming ? startConfirm(couple, tracks.find((t) => t.id === selected), active) : button);
    form.addEventListener('change', (event) => {
      if (event.target.name !== 'track') return;
      chosenTrack = event.target.value;
      if (confirmStart) {
        confirmStart = null; // a different track: ask again for that one
        render({ force: true });
        return;
      }
      if (busy !== 'start') button.textContent = buttonLabel(chosenTrack);
    });
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const chosen = form.querySelector('input[name="track"]:checked');
      if (!chosen) {
        error.textContent = 'Choose a track first.';
        error.hidden = false;
        return;
      }
      if (!underWay.has(chosen.value) && confirmStart !== chosen.value) {
        confirmStart = chosen.value;
        render({ force: true });
        view.querySelector('#start-confirm-question')?.focus();
        return;
      }
      confirmStart = null;
      busy = 'start';
      button.disabled = true;
      button.textContent = 'Starting…';
      error.hidden = true;
      const hadFocus = view.contains(document.activeElement);
      render({ force: true }); // the confirmation gives way to "Starting…"
      if (hadFocus) view.querySelector('[data-testid="start-session"]')?.focus();
      try {
        // 201 with a new session, or 200 with the one already under way on this track
        // (even when both pressed Start at once): either way, open what came back.
        const result = await api.post('/sessions', { couple_id: couple.id, track_id: chosen.value });
        busy = null;
        if (!destroyed) navigate(`/s/${result.session.id}`);
      } catch (err) {
        busy = null;
        if (destroyed) return;
        const again = view.querySelector('[data-testid="start-session"]');
        const errorEl = view.querySelector('[data-testid="start-error"]');
        if (errorEl) {
          errorEl.textContent = err.message;
          errorEl.hidden = false;
        }
        if (again) {
          again.disabled = false;
          again.textContent = buttonLabel(chosen.value);
        }
      }
    });
    section.append(form);
    return section;
  }

  /** "Start “…” with Sam?" in place of the Start button, and Sam's own fresh Start if any. */
  function startConfirm(couple, track, active) {
    const { partner } = derive();
    const name = partner ? partner.display_name : 'your partner';
    const theirs = active.find((s) => startedByPartner(s) && (s.step_index || 1) <= 1
      && s.track && s.track.id !== track.id);
    const close = () => {
      confirmStart = null;
      render({ force: true });
      view.querySelector('[data-testid="start-session"]')?.focus();
    };
    const panel = h('div', { class: 'start-confirm', role: 'group', 'aria-labelledby': 'start-confirm-question', testid: 'start-confirm' },
      h('p', { id: 'start-confirm-question', class: 'start-confirm-question', tabIndex: -1 },
        `Start “${track.title}” with ${name}? ${partner ? `${name} sees it on their home at once and can join you.` : ''}`.trim()),
      theirs ? h('p', { class: 'notice', testid: 'start-confirm-partner' },
        `${name} has just started “${trackTitle(theirs)}”. You could join ${name} there instead.`, ' ',
        h('a', { href: `/s/${theirs.id}`, 'data-link': '', class: 'button-link', testid: 'start-confirm-join' },
          `Join ${name} in “${trackTitle(theirs)}”`)) : null,
      h('div', { class: 'actions' },
        h('button', { type: 'submit', class: 'primary', testid: 'confirm-start', disabled: busy === 'start' },
          busy === 'start' ? 'Starting…' : `Yes, start “${track.title}”`),
        h('button', { type: 'button', class: 'link-button', testid: 'cancel-start', onclick: close }, 'Not now')));
    panel.addEventListener('keydown', (event) => {
      if (event.key === 'Escape') {
        event.preventDefault();
        close();
      }
    });
    return panel;
  }

  // ---- past sessions ------------------------------------------------------------------------

  /** What happened to a past session, in the words its own page uses: finished, stopped
   *  early (and where), or cancelled. */
  function pastLine(s) {
    const count = `${s.step_count} ${s.step_count === 1 ? 'step' : 'steps'}`;
    if (s.status === 'finished') {
      return s.finished_at ? `${count} · finished ${formatDate(s.finished_at)}` : `${count} · finished`;
    }
    const on = formatDate(s.finished_at || s.created_at);
    if (s.status === 'cancelled') return `Cancelled · ${on}`;
    return `Stopped early · ${on}`;
  }

  function pastCard(past, anyActive) {
    const section = h('section', { class: 'card', 'aria-labelledby': 'past-title', testid: 'sessions-card' },
      h('h2', { id: 'past-title' }, 'Past sessions'));
    if (!past.length) {
      section.append(h('p', { class: 'empty', testid: 'sessions-empty' }, anyActive
        ? 'Sessions you finish stay here, with their summary, so you can read them again.'
        : 'No sessions yet. When you start a track, it will appear here so you can come back to it.'));
      return section;
    }
    section.append(h('ul', { class: 'session-list', testid: 'past-sessions' }, past.map((s) => {
      const when = pastLine(s);
      return h('li', { class: 'session-item', testid: `session-${s.id}` },
        h('div', null,
          h('span', { class: 'session-title' }, trackTitle(s)),
          h('span', { class: 'session-meta' }, when)),
        h('div', { class: 'session-actions' },
          h('a', {
            href: `/s/${s.id}/summary`, 'data-link': '', class: 'button-link', testid: `summary-link-${s.id}`,
            'aria-label': `Summary of ${trackTitle(s)}`,
          }, 'Summary'),
          h('a', {
            href: `/s/${s.id}`, 'data-link': '', class: 'button-link quiet', testid: `session-link-${s.id}`,
            'aria-label': `Read ${trackTitle(s)}`,
          }, 'Read')));
    })));
    return section;
  }

  // ---- live ---------------------------------------------------------------------------------

  const unsubscribe = [
    appSocket.on('me:state', (payload) => { if (!destroyed) apply(payload); }),
    // (Re)connected: load /me again; a push sent while we were away is not sent twice.
    appSocket.on('connect', () => { if (!destroyed) reload(); }),
    appSocket.on('status', (status) => { if (!destroyed) renderConnection(status); }),
  ];

  render({ force: true });

  return {
    destroy() {
      destroyed = true;
      unsubscribe.forEach((off) => off());
    },
  };
}
