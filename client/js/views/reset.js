// `/reset/<token>`: the link from a password-reset e-mail. A new password, twice; on
// success the server logs the person in and they go home.

import { h, replaceChildren, nextId } from '../dom.js';
import { resetPassword, ApiError } from '../api.js';
import { formError, showError, runForm } from './auth.js';

const MIN_LENGTH = 8;
const MAX_LENGTH = 200;

export function renderReset(root, { token, onDone }) {
  document.title = 'Mend'; // neutral: no track, no name (issue 15)
  const input = (id, label, testid, hint) => {
    const hintId = hint ? nextId('hint') : null;
    const el = h('input', {
      id, name: id, type: 'password', autocomplete: 'new-password', required: true, testid,
      minLength: MIN_LENGTH, maxLength: MAX_LENGTH, 'aria-describedby': hintId || undefined,
    });
    return {
      input: el,
      el: h('div', { class: 'field' },
        h('label', { for: id }, label),
        hint ? h('p', { class: 'hint', id: hintId }, hint) : null,
        el),
    };
  };
  const first = input('reset-password', 'New password', 'reset-password', `At least ${MIN_LENGTH} characters.`);
  const again = input('reset-confirm', 'The same password again', 'reset-confirm');
  const error = formError('reset-error');
  const button = h('button', { type: 'submit', class: 'primary', testid: 'reset-submit' }, 'Save my new password');
  const form = h('form', { class: 'stack', novalidate: true }, first.el, again.el, error, button);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const password = first.input.value;
    const problem = password.length < MIN_LENGTH ? [first, `Choose a password of at least ${MIN_LENGTH} characters.`]
      : password.length > MAX_LENGTH ? [first, `Choose a password of at most ${MAX_LENGTH} characters.`]
        : again.input.value !== password ? [again, "The two passwords don't match. Type the same one twice."]
          : null;
    if (problem) {
      showError(error, problem[1]);
      problem[0].input.focus();
      return;
    }
    runForm(form, button, error, 'Saving…', async () => {
      try {
        await resetPassword({ token, password });
      } catch (err) {
        if (err instanceof ApiError && err.code === 'invalid' && /token|link|expired|used/i.test(err.message)) {
          throw new ApiError(err.status, err.code,
            `${err.message} Ask for a new link from the log-in page ("Forgot your password?").`);
        }
        throw err;
      }
      await onDone();
    });
  });
  replaceChildren(root, h('div', { class: 'auth reset-page', testid: 'reset-page' },
    h('div', { class: 'intro' },
      h('h1', { class: 'view-title', tabIndex: -1 }, 'Choose a new password'),
      h('p', null, 'Type your new password twice. You will be logged in once it is saved.')),
    h('section', { class: 'card auth-card', 'aria-label': 'New password' },
      form,
      h('p', { class: 'switch-line' },
        h('a', { href: '/', 'data-link': '', testid: 'reset-cancel' }, 'Back to log in')))));
}
