// The invite link, `/join/<code>`, for someone not logged in: the invite is checked before
// anyone makes an account. An open invite names who sent it and offers sign-up (or log-in);
// an unknown or used one says so and offers no sign-up at all.

import { h, replaceChildren } from '../dom.js';
import { fetchInvite, ApiError } from '../api.js';
import { renderAuth } from './auth.js';

/** What an invite's status means to the person holding the link (also used logged in). */
export function inviteProblem(status) {
  if (status === 'used') {
    return {
      title: 'This invite has already been used',
      text: 'This invite has already been used — ask your partner for a new one.',
    };
  }
  if (status === 'own') {
    return {
      title: 'This is your own invite',
      text: 'This is your own invite — send it to your partner.',
    };
  }
  if (status === 'member') {
    return { title: "You're already in this couple", text: "You're already in this couple." };
  }
  return {
    title: "We couldn't find this invite",
    text: "This invite link doesn't match any invite. Check that the whole link was copied, or ask your partner for a new one.",
  };
}

export function renderInvite(root, { code, notice = null, onAuthed }) {
  let destroyed = false;

  function loading() {
    replaceChildren(root, h('div', { class: 'invite-page' },
      h('h1', { class: 'view-title', tabIndex: -1 }, 'Your invite'),
      h('p', { class: 'loading', role: 'status', testid: 'invite-loading' }, 'Checking your invite…')));
  }

  function problem(reason, { title, text }) {
    document.title = 'Mend'; // neutral: no track, no name (issue 15)
    replaceChildren(root, h('div', { class: 'card invite-page', testid: 'invite-problem', 'data-reason': reason },
      h('h1', { class: 'view-title', tabIndex: -1 }, title),
      h('p', { role: 'alert', testid: 'invite-problem-text' }, text),
      h('p', null, 'Already have an account? ',
        h('a', { href: '/', 'data-link': '', testid: 'invite-go-home' }, 'Go to Mend and log in'), '.')));
  }

  function failed(message) {
    replaceChildren(root, h('div', { class: 'card invite-page', testid: 'invite-failed' },
      h('h1', { class: 'view-title', tabIndex: -1 }, "We couldn't check your invite"),
      h('p', { class: 'notice notice-error', role: 'alert' }, message),
      h('button', { type: 'button', class: 'primary', testid: 'invite-retry', onclick: () => load(true) }, 'Try again')));
  }

  function open(invite) {
    const name = (invite.inviter && invite.inviter.display_name) || 'Your partner';
    document.title = 'Mend'; // neutral: no track, no name (issue 15)
    const banner = h('div', { class: 'invite-banner', testid: 'invite-banner' },
      h('h1', { class: 'view-title', tabIndex: -1, testid: 'invite-title' },
        h('span', { testid: 'invite-inviter' }, name), ' invited you to Mend'),
      h('p', null, "You've been invited to join your partner on Mend, a private space for the two of you. "
        + `Create an account (or log in) and you'll join ${name}'s couple space straight away.`));
    renderAuth(root, { intro: banner, notice, initial: 'signup', onAuthed });
  }

  async function load(focus) {
    loading();
    let invite;
    try {
      invite = await fetchInvite(code);
    } catch (error) {
      if (destroyed) return;
      if (error instanceof ApiError && error.code === 'not_found') problem('not_found', inviteProblem('not_found'));
      else failed(error.message);
      if (focus) root.querySelector('.view-title')?.focus();
      return;
    }
    if (destroyed) return;
    if (invite.status === 'open') open(invite);
    else problem(invite.status, inviteProblem(invite.status));
    if (focus) root.querySelector('.view-title')?.focus();
  }

  return {
    ready: load(false),
    destroy() { destroyed = true; },
  };
}
