// Home: greeting, the couple card (create / invite / join), the track picker, and sessions.

import { h, replaceChildren, announce, formatDate } from '../dom.js';
import { api, fetchMe } from '../api.js';

const WAITING_POLL_MS = 5000;

export function renderHome(root, { me, notice = null, navigate, onAuthLost }) {
  let data = me;
  let tracks = null;
  let tracksError = null;
  let pollTimer = null;
  let destroyed = false;
  let flash = notice; // {kind: 'ok'|'error', text}

  const view = h('div', { class: 'home' });
  replaceChildren(root, view);

  async function reload() {
    try {
      const fresh = await fetchMe();
      if (destroyed) return;
      if (!fresh) { onAuthLost(); return; }
      data = fresh;
      render();
    } catch (error) {
      if (!destroyed) setFlash({ kind: 'error', text: error.message });
    }
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
    if (!destroyed) render();
  }

  function setFlash(value) {
    flash = value;
    render();
  }

  function schedulePoll(waiting) {
    clearTimeout(pollTimer);
    pollTimer = null;
    if (!waiting || destroyed) return;
    pollTimer = setTimeout(() => {
      if (document.visibilityState === 'visible') reload();
      else schedulePoll(true);
    }, WAITING_POLL_MS);
  }

  function render() {
    const user = data.user;
    const couples = data.couples || [];
    const complete = couples.find((c) => c.status === 'complete') || null;
    const waiting = couples.find((c) => c.status === 'waiting') || null;
    const couple = complete || waiting;
    const partner = complete ? (complete.partners || []).find((p) => p.user_id !== user.id) : null;

    const focused = document.activeElement && view.contains(document.activeElement)
      ? document.activeElement.getAttribute('data-testid') : null;

    replaceChildren(view,
      h('h1', { class: 'view-title', tabIndex: -1, testid: 'greeting' }, `Hello, ${user.display_name}`),
      h('p', { class: 'lede' }, complete
        ? `This is your shared space with ${partner ? partner.display_name : 'your partner'}. Take it at your own pace.`
        : 'Mend works with two people. Start by making a space for the two of you.'),
      flash ? h('p', {
        class: flash.kind === 'error' ? 'notice notice-error' : 'notice',
        role: flash.kind === 'error' ? 'alert' : 'status',
        testid: 'home-notice',
      }, flash.text) : null,
      coupleCard({ user, couple, complete, waiting, partner }),
      complete ? trackCard(complete) : null,
      complete ? sessionsCard(complete) : null);

    if (focused) {
      const again = view.querySelector(`[data-testid="${focused}"]`);
      if (again) again.focus();
    }
    schedulePoll(Boolean(waiting && !complete));
    if (complete && !tracks && !tracksError) loadTracks();
  }

  // ---- the couple card ------------------------------------------------------------------

  function coupleCard({ complete, waiting, partner }) {
    if (complete) {
      return h('section', { class: 'card couple-card', 'aria-labelledby': 'couple-title', testid: 'couple-card' },
        h('h2', { id: 'couple-title' }, 'Your couple space'),
        h('p', { testid: 'couple-complete' },
          'You and ', h('strong', null, partner ? partner.display_name : 'your partner'),
          ' are connected. Pick a track below whenever you are both ready.'));
    }
    if (waiting) {
      return h('section', { class: 'card couple-card', 'aria-labelledby': 'couple-title', testid: 'couple-card' },
        h('h2', { id: 'couple-title' }, 'Invite your partner'),
        inviteBlock(waiting.invite_code),
        h('p', { class: 'waiting', testid: 'waiting-for-partner', role: 'status' },
          h('span', { class: 'pulse', 'aria-hidden': 'true' }),
          'Waiting for your partner to join… This page updates by itself.'),
        h('details', { class: 'disclosure' },
          h('summary', null, 'Did your partner already send you a code?'),
          joinForm()));
    }
    const createError = h('p', { class: 'form-error', role: 'alert', hidden: true, testid: 'create-error' });
    const createButton = h('button', {
      type: 'button', class: 'primary', testid: 'create-couple',
      onclick: async () => {
        createButton.disabled = true;
        createButton.textContent = 'Creating…';
        try {
          await api.post('/couples', {});
          announce('Your couple space is ready. Share the invite code with your partner.');
          await reload();
          view.querySelector('[data-testid="invite-code"]')?.focus();
        } catch (error) {
          createError.textContent = error.message;
          createError.hidden = false;
          createButton.disabled = false;
          createButton.textContent = 'Create our couple space';
        }
      },
    }, 'Create our couple space');
    return h('section', { class: 'card couple-card', 'aria-labelledby': 'couple-title', testid: 'couple-card' },
      h('h2', { id: 'couple-title' }, 'Your couple space'),
      h('p', { class: 'empty' }, "You haven't joined a couple space yet. One of you creates it, then sends the other an invite."),
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
      let copied = false;
      try {
        if (navigator.clipboard && window.isSecureContext) {
          await navigator.clipboard.writeText(link);
          copied = true;
        }
      } catch { copied = false; }
      if (!copied) {
        linkInput.focus();
        linkInput.select();
        try { copied = document.execCommand('copy'); } catch { copied = false; }
      }
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
      'aria-describedby': 'join-code-hint',
    });
    const error = h('p', { class: 'form-error', role: 'alert', hidden: true, testid: 'join-error' });
    const button = h('button', { type: 'submit', class: 'secondary', testid: 'join-submit' }, 'Join');
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
      button.disabled = true;
      error.hidden = true;
      try {
        await api.post('/couples/join', { invite_code: code });
        flash = { kind: 'ok', text: "You've joined your partner's couple space." };
        announce(flash.text);
        await reload();
      } catch (err) {
        error.textContent = err.message;
        error.hidden = false;
        button.disabled = false;
        input.focus();
      }
    });
    return form;
  }

  // ---- tracks and sessions ----------------------------------------------------------------

  function trackCard(couple) {
    const section = h('section', { class: 'card', 'aria-labelledby': 'tracks-title', testid: 'track-picker' },
      h('h2', { id: 'tracks-title' }, 'Start a session'));
    if (tracksError) {
      section.append(h('p', { class: 'form-error', role: 'alert' }, tracksError),
        h('button', { type: 'button', class: 'secondary', onclick: () => { tracksError = null; loadTracks(); } }, 'Try again'));
      return section;
    }
    if (!tracks) {
      section.append(h('p', { class: 'muted' }, 'Loading tracks…'));
      return section;
    }
    if (!tracks.length) {
      section.append(h('p', { class: 'empty' }, 'There are no tracks yet.'));
      return section;
    }
    const error = h('p', { class: 'form-error', role: 'alert', hidden: true, testid: 'start-error' });
    const options = tracks.map((track, index) => {
      const id = `track-${track.id}`;
      const input = h('input', { type: 'radio', name: 'track', id, value: track.id, testid: id });
      input.checked = index === 0;
      const count = (track.steps || []).length;
      return h('li', { class: 'track-option' },
        input,
        h('label', { for: id },
          h('span', { class: 'track-title' }, track.title),
          h('span', { class: 'track-summary' }, track.summary || ''),
          h('span', { class: 'track-meta' }, `${count} ${count === 1 ? 'step' : 'steps'}`)));
    });
    const button = h('button', { type: 'submit', class: 'primary', testid: 'start-session' }, 'Start session');
    const form = h('form', { class: 'track-form' },
      h('fieldset', null,
        h('legend', null, 'Choose a track to work through together'),
        h('ul', { class: 'track-list' }, options)),
      error, button);
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const chosen = form.querySelector('input[name="track"]:checked');
      if (!chosen) {
        error.textContent = 'Choose a track first.';
        error.hidden = false;
        return;
      }
      button.disabled = true;
      button.textContent = 'Starting…';
      error.hidden = true;
      try {
        const result = await api.post('/sessions', { couple_id: couple.id, track_id: chosen.value });
        navigate(`/s/${result.session.id}`);
      } catch (err) {
        error.textContent = err.message;
        error.hidden = false;
        button.disabled = false;
        button.textContent = 'Start session';
      }
    });
    section.append(form);
    return section;
  }

  function sessionsCard(couple) {
    const sessions = (data.sessions || []).filter((s) => !s.couple_id || s.couple_id === couple.id);
    const section = h('section', { class: 'card', 'aria-labelledby': 'sessions-title', testid: 'sessions-card' },
      h('h2', { id: 'sessions-title' }, 'Your sessions'));
    if (!sessions.length) {
      section.append(h('p', { class: 'empty', testid: 'sessions-empty' },
        'No sessions yet. When you start a track, it will appear here so you can come back to it.'));
      return section;
    }
    section.append(h('ul', { class: 'session-list' }, sessions.map((s) => {
      const finished = s.status === 'finished';
      const progress = finished ? 'Finished' : `Step ${s.step_index} of ${s.step_count}`;
      return h('li', { class: 'session-item' },
        h('div', null,
          h('span', { class: 'session-title' }, (s.track && s.track.title) || 'Session'),
          h('span', { class: 'session-meta' }, `${progress} · started ${formatDate(s.created_at)}`)),
        h('a', {
          href: `/s/${s.id}`, 'data-link': '', class: 'button-link', testid: `session-link-${s.id}`,
          'aria-label': `${finished ? 'Read' : 'Resume'} ${(s.track && s.track.title) || 'session'}`,
        }, finished ? 'Read' : 'Resume'));
    })));
    return section;
  }

  render();

  return {
    destroy() {
      destroyed = true;
      clearTimeout(pollTimer);
    },
  };
}
