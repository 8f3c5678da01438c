// `/account`: change your password, download your data, delete your account.
//
// Changing the password ends every other log-in of the account (other devices and browsers,
// and their connections) and keeps this one, with a fresh cookie. Deleting needs the
// password and a clear "I understand": the account and what it wrote privately are erased;
// the partner keeps their own answers and sees "removed" where this person's were.

import { h, replaceChildren, announce, nextId } from '../dom.js';
import { api, refreshCsrf, ApiError } from '../api.js';
import { appSocket } from '../socket.js';
import { formError, showError, runForm } from './auth.js';
import { deviceNote } from './privacy.js';

const MIN_LENGTH = 8;
const MAX_LENGTH = 200;

function passwordField(id, label, { testid, hint, autocomplete = 'new-password' } = {}) {
  const hintId = hint ? nextId('hint') : null;
  const input = h('input', {
    id, name: id, type: 'password', autocomplete, required: true, testid: testid || id,
    maxLength: MAX_LENGTH, 'aria-describedby': hintId || undefined,
  });
  return {
    input,
    el: h('div', { class: 'field' },
      h('label', { for: id }, label),
      hint ? h('p', { class: 'hint', id: hintId }, hint) : null,
      input),
  };
}

/** A notice that is also read out (a live region that appears is not always read). */
function result(testid) {
  const el = h('p', { class: 'notice', testid, hidden: true });
  return {
    el,
    show(text) {
      el.textContent = text;
      el.hidden = false;
      announce(text);
    },
    hide() { el.hidden = true; },
  };
}

function done(form, button, label) {
  button.disabled = false;
  button.textContent = label;
  form.removeAttribute('aria-busy');
}

/**
 * Render the account page. `me` is GET /me's answer; `onDeleted(text)` runs once the account
 * is gone (the app forgets the log-in and shows `text` on the signed-out screen).
 */
export function renderAccount(root, { me, onDeleted }) {
  document.title = 'Mend'; // neutral: no track, no name (issue 15)
  const user = (me && me.user) || {};

  replaceChildren(root, h('div', { class: 'account-page', testid: 'account-page' },
    h('h1', { class: 'view-title', tabIndex: -1 }, 'Your account'),
    h('p', null, 'Logged in as ', h('strong', null, user.display_name || ''),
      user.email ? ` (${user.email})` : '', '.'),
    deviceNote({ id: 'account-device-note', testid: 'account-device-note' }),
    passwordCard(),
    exportCard(),
    deleteCard(onDeleted),
    h('p', null, h('a', { href: '/', 'data-link': '', testid: 'account-home' }, 'Back to your home'))));

  return { destroy() {} };
}

// ---- change password ------------------------------------------------------------------

function passwordCard() {
  const current = passwordField('account-current', 'Current password', {
    testid: 'current-password', autocomplete: 'current-password',
  });
  const first = passwordField('account-new', 'New password', {
    testid: 'new-password', hint: `At least ${MIN_LENGTH} characters.`,
  });
  const again = passwordField('account-again', 'The new password again', { testid: 'new-password-again' });
  const error = formError('password-error');
  const saved = result('password-saved');
  const label = 'Change my password';
  const button = h('button', { type: 'submit', class: 'primary', testid: 'password-submit' }, label);
  const form = h('form', { class: 'stack', novalidate: true },
    current.el, first.el, again.el, error, button);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    saved.hide();
    const password = first.input.value;
    const problem = !current.input.value ? [current, 'Enter your current password.']
      : password.length < MIN_LENGTH ? [first, `Choose a password of at least ${MIN_LENGTH} characters.`]
        : password.length > MAX_LENGTH ? [first, `Choose a password of at most ${MAX_LENGTH} characters.`]
          : again.input.value !== password ? [again, "The two new passwords don't match. Type the same one twice."]
            : null;
    if (problem) {
      showError(error, problem[1]);
      problem[0].input.focus();
      return;
    }
    runForm(form, button, error, 'Saving…', async () => {
      // The change closes every connection of this account, this page's too: close it first
      // (so it isn't read as a lost log-in) and open it again with the new cookie.
      appSocket.close();
      try {
        await api.post('/auth/password', { old_password: current.input.value, new_password: password });
      } finally {
        await refreshCsrf().catch(() => {});
        appSocket.open();
      }
      for (const field of [current, first, again]) field.input.value = '';
      done(form, button, label);
      saved.show('Your new password is saved. You are still logged in here; every other device '
        + 'and browser where you were logged in has been logged out.');
    });
  });
  return h('section', { class: 'card', 'aria-labelledby': 'account-password-title', testid: 'password-card' },
    h('h2', { id: 'account-password-title' }, 'Change your password'),
    h('p', null, 'Changing it logs you out everywhere else — useful if someone else may know it.'),
    form, saved.el);
}

// ---- download my data -----------------------------------------------------------------

function filenameFrom(response) {
  const disposition = response.headers.get('Content-Disposition') || '';
  const match = disposition.match(/filename="?([^";]+)"?/i);
  return match ? match[1] : `mend-my-data-${new Date().toISOString().slice(0, 10)}.json`;
}

async function download() {
  let response;
  try {
    response = await fetch('/api/v1/me/export', {
      credentials: 'same-origin', cache: 'no-store', headers: { Accept: 'application/json' },
    });
  } catch {
    throw new ApiError(0, 'network', "We couldn't reach Mend. Check your connection and try again.");
  }
  if (!response.ok) {
    const data = await response.json().catch(() => null);
    const problem = (data && data.error) || {};
    throw new ApiError(response.status, problem.code || 'internal',
      problem.message || `Something went wrong (${response.status}). Please try again.`);
  }
  const blob = await response.blob();
  const url = URL.createObjectURL(new Blob([blob], { type: 'application/json' }));
  const link = h('a', { href: url, download: filenameFrom(response), hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
}

function exportCard() {
  const error = formError('export-error');
  const status = result('export-done');
  const label = 'Download my data';
  const button = h('button', {
    type: 'button', class: 'secondary', testid: 'export-data',
    onclick: async () => {
      showError(error, '');
      status.hide();
      button.disabled = true;
      button.textContent = 'Preparing…';
      try {
        await download();
        status.show('Your data is downloading as a file (JSON).');
      } catch (err) {
        showError(error, err.message);
      }
      button.disabled = false;
      button.textContent = label;
    },
  }, label);
  return h('section', { class: 'card', 'aria-labelledby': 'account-export-title', testid: 'export-card' },
    h('h2', { id: 'account-export-title' }, 'Your data'),
    h('p', null, 'A file with your account and everything you wrote in Mend. '
      + "It has nothing of your partner's that they have not shared with you."),
    h('div', { class: 'stack' }, button, error, status.el));
}

// ---- delete my account ----------------------------------------------------------------

function deleteCard(onDeleted) {
  const password = passwordField('account-delete-password', 'Your password', {
    testid: 'delete-password', autocomplete: 'current-password',
  });
  const sure = h('input', { id: 'account-delete-sure', type: 'checkbox', testid: 'delete-sure' });
  const error = formError('delete-error');
  const label = 'Delete my account for good';
  const button = h('button', { type: 'submit', class: 'primary', testid: 'delete-submit' }, label);
  const form = h('form', { class: 'stack', novalidate: true },
    password.el,
    h('div', { class: 'field field-check' }, sure,
      h('label', { for: 'account-delete-sure' }, 'I understand that this erases my account and cannot be undone.')),
    error, button);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (!password.input.value) {
      showError(error, 'Enter your password to delete your account.');
      password.input.focus();
      return;
    }
    if (!sure.checked) {
      showError(error, 'Tick the box to confirm that you want to erase your account.');
      sure.focus();
      return;
    }
    runForm(form, button, error, 'Deleting…', async () => {
      appSocket.close(); // the server closes every connection of the account
      try {
        await api.del('/me', { password: password.input.value });
      } catch (err) {
        appSocket.open();
        throw err;
      }
      await refreshCsrf().catch(() => {});
      if (onDeleted) await onDeleted('Your account has been deleted. Thank you for using Mend.');
    });
  });
  const details = h('details', { class: 'disclosure', testid: 'delete-disclosure' },
    h('summary', null, 'Delete my account'),
    h('p', null, 'This erases, for good:'),
    h('ul', null,
      h('li', null, 'your account, your e-mail address and your password;'),
      h('li', null, 'everything you wrote privately: your answers, drafts and notes.')),
    h('p', null, 'Your partner keeps their own answers and the sessions you had together; '
      + 'where your answers were, they will see “removed”. You are logged out everywhere. '
      + 'If you may want a copy, download your data first.'),
    form);
  return h('section', { class: 'card', 'aria-labelledby': 'account-delete-title', testid: 'delete-card' },
    h('h2', { id: 'account-delete-title' }, 'Delete your account'),
    details);
}
