// The lock screen: after "Leave quickly" (js/help.js) the server locks the log-in, and every
// tab of it, and this browser when it comes back to Mend, shows only this: one neutral
// sentence and a password box. No name, no e-mail, nothing of the couple or a session,
// because whoever holds the device now may not be the person who left.
// The password opens it again where it was (the address is kept); "Log out" forgets the
// log-in on this browser instead (the log-in screen has "Forgot your password?").

import { h, replaceChildren, announce } from '../dom.js';
import { unlock, logOut } from '../api.js';
import { formError, showError, runForm } from './auth.js';

export function renderLock(root, { onUnlocked, onLoggedOut }) {
  const input = h('input', {
    id: 'lock-password', name: 'password', type: 'password', autocomplete: 'current-password',
    required: true, testid: 'lock-password',
  });
  const error = formError('lock-error');
  const button = h('button', { type: 'submit', class: 'primary', testid: 'lock-submit' }, 'Continue');
  const form = h('form', { class: 'stack', novalidate: true },
    h('div', { class: 'field' }, h('label', { for: 'lock-password' }, 'Password'), input),
    error, button);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (!input.value) {
      showError(error, 'Enter your password.');
      input.focus();
      return;
    }
    runForm(form, button, error, 'Checking…', async () => {
      try {
        await unlock(input.value);
      } catch (problem) {
        input.value = '';
        input.focus();
        throw problem;
      }
      await onUnlocked();
    });
  });
  const out = h('button', {
    type: 'button', class: 'link-button', testid: 'lock-logout',
    onclick: async () => {
      out.disabled = true;
      try {
        await logOut();
      } catch {
        // The log-in is forgotten on this browser either way once the page reloads.
      }
      announce('You have logged out.');
      onLoggedOut();
    },
  }, 'Log out');
  replaceChildren(root, h('section', { class: 'card lock-card', testid: 'lock-screen' },
    h('h1', { class: 'view-title', tabIndex: -1 }, 'Enter your password to continue'),
    form,
    h('p', { class: 'switch-line' }, 'Not you, or forgotten it? ', out)));
  return { destroy() {} };
}
