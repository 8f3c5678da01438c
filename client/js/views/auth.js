// Signed-out screens: create an account / log in (two tabs; new visitors land on "Create an
// account"), and "Forgot your password?" under the log-in form.
// Sign-up answers the same whether or not the address already has an account, and logs
// nobody in: the form logs in next with the same e-mail and password. If that fails (the
// address had an account with another password), the log-in tab says what to do.

import { h, replaceChildren, announce } from '../dom.js';
import { api, logIn, requestPasswordReset, ApiError } from '../api.js';
import { deviceNote } from './privacy.js';

const TABS = [
  { id: 'signup', label: 'Create an account' },
  { id: 'login', label: 'Log in' },
];

/**
 * The whole signed-out screen. `intro` replaces the welcome (the invite page passes the
 * inviter's banner); `initial` is the tab shown first.
 */
export function renderAuth(root, { intro = null, notice = null, initial = 'signup', onAuthed }) {
  replaceChildren(root, h('div', { class: 'auth' },
    intro || h('div', { class: 'intro' },
      h('h1', { class: 'view-title', tabIndex: -1 }, 'Welcome to Mend'),
      h('p', null, 'A calm, private space for the two of you to rebuild trust, one small step at a time.')),
    notice ? h('p', { class: 'notice', role: 'status', testid: 'auth-notice' }, notice) : null,
    authCard({ initial, onAuthed })));
}

/** The tabbed card: "Create an account" and "Log in". */
export function authCard({ initial = 'signup', onAuthed }) {
  const tabButtons = {};
  const panels = {};
  const tabList = h('div', { class: 'tabs', role: 'tablist', 'aria-label': 'Create an account or log in' });
  for (const tab of TABS) {
    const button = h('button', {
      type: 'button',
      role: 'tab',
      id: `tab-${tab.id}`,
      'aria-controls': `panel-${tab.id}`,
      testid: `tab-${tab.id}`,
      onclick: () => select(tab.id, 'tab'),
      onkeydown: (event) => {
        const order = TABS.map((t) => t.id);
        let index = order.indexOf(tab.id);
        if (event.key === 'ArrowRight' || event.key === 'ArrowDown') index = (index + 1) % order.length;
        else if (event.key === 'ArrowLeft' || event.key === 'ArrowUp') index = (index - 1 + order.length) % order.length;
        else if (event.key === 'Home') index = 0;
        else if (event.key === 'End') index = order.length - 1;
        else return;
        event.preventDefault();
        select(order[index], 'tab');
      },
    }, tab.label);
    tabButtons[tab.id] = button;
    tabList.append(button);
  }

  // focus: 'tab' (arrow keys / click on a tab), 'field' (the switch links), or nothing.
  function select(id, focus) {
    for (const tab of TABS) {
      const selected = tab.id === id;
      tabButtons[tab.id].setAttribute('aria-selected', String(selected));
      tabButtons[tab.id].tabIndex = selected ? 0 : -1;
      panels[tab.id].hidden = !selected;
    }
    if (focus === 'tab') tabButtons[id].focus();
    else if (focus === 'field') panels[id].querySelector('input')?.focus();
  }

  panels.login = loginPanel(onAuthed, () => select('signup', 'field'));
  const toLoginWith = (email, message) => {
    panels.login.prefill(email, message);
    select('login', 'field');
    panels.login.querySelector('[data-testid="login-password"]')?.focus();
  };
  panels.signup = signupPanel(onAuthed, () => select('login', 'field'), toLoginWith);
  const card = h('section', { class: 'card auth-card', 'aria-label': 'Your account' },
    tabList, panels.signup, panels.login);
  select(initial === 'login' ? 'login' : 'signup');
  return card;
}

function field({ label, id, type = 'text', autocomplete, testid, hint, minLength, maxLength }) {
  const hintId = hint ? `${id}-hint` : null;
  const input = h('input', {
    id, name: id, type, autocomplete, required: true, testid,
    minLength: minLength || undefined,
    maxLength: maxLength || undefined,
    'aria-describedby': hintId || undefined,
  });
  return {
    input,
    el: h('div', { class: 'field' },
      h('label', { for: id }, label),
      hint ? h('p', { class: 'hint', id: hintId }, hint) : null,
      input),
  };
}

export function formError(testid) {
  return h('p', { class: 'form-error', role: 'alert', testid, hidden: true });
}

export function showError(el, message) {
  el.textContent = message || '';
  el.hidden = !message;
}

/** Disable the form while `action` runs; on failure show its message and enable again. */
export async function runForm(form, button, errorEl, busyLabel, action) {
  const label = button.textContent;
  showError(errorEl, '');
  button.disabled = true;
  button.textContent = busyLabel;
  form.setAttribute('aria-busy', 'true');
  try {
    await action();
  } catch (error) {
    showError(errorEl, error.message || 'Something went wrong. Please try again.');
    button.disabled = false;
    button.textContent = label;
    form.removeAttribute('aria-busy');
  }
}

function switchLine(text, label, testid, onclick) {
  return h('p', { class: 'switch-line' }, text ? `${text} ` : null,
    h('button', { type: 'button', class: 'link-button', testid, onclick }, label));
}

function signupPanel(onAuthed, toLogin, toLoginWith) {
  const email = field({ label: 'Email', id: 'signup-email', type: 'email', autocomplete: 'email', testid: 'signup-email', maxLength: 254 });
  const name = field({
    label: 'Your name', id: 'signup-name', autocomplete: 'nickname', testid: 'signup-name',
    hint: 'This is how your partner will see you.', maxLength: 60,
  });
  const password = field({
    label: 'Password', id: 'signup-password', type: 'password', autocomplete: 'new-password',
    testid: 'signup-password', hint: 'At least 8 characters.', minLength: 8,
  });
  const error = formError('signup-error');
  const button = h('button', { type: 'submit', class: 'primary', testid: 'signup-submit' }, 'Create my account');
  const form = h('form', { class: 'stack', novalidate: true }, email.el, name.el, password.el, error, button);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const values = {
      email: email.input.value.trim(),
      displayName: name.input.value.trim(),
      password: password.input.value,
    };
    const problem = !values.email ? [email, 'Enter your email address.']
      : !email.input.checkValidity() ? [email, "That email address doesn't look right."]
        : !values.displayName ? [name, 'Enter the name your partner will see.']
          : values.password.length < 8 ? [password, 'Choose a password of at least 8 characters.']
            : null;
    if (problem) {
      showError(error, problem[1]);
      problem[0].input.focus();
      return;
    }
    runForm(form, button, error, 'Creating your account…', async () => {
      const answer = await api.post('/auth/signup', {
        email: values.email, password: values.password, display_name: values.displayName,
      });
      let user;
      try {
        user = await logIn({ email: values.email, password: values.password });
      } catch (err) {
        if (!(err instanceof ApiError) || err.code !== 'unauthenticated') throw err;
        button.disabled = false;
        button.textContent = 'Create my account';
        form.removeAttribute('aria-busy');
        toLoginWith(values.email, answer.message);
        return;
      }
      await onAuthed(user);
    });
  });
  return h('div', { id: 'panel-signup', role: 'tabpanel', 'aria-labelledby': 'tab-signup', class: 'tab-panel' },
    form,
    switchLine(null, 'I already have an account', 'switch-to-login', toLogin),
    // Before first use: what Mend can and cannot hide on a shared or watched device (after
    // the form, so the tab list's next Tab stop is still the first field).
    deviceNote({ id: 'signup-device-note', testid: 'signup-device-note' }));
}

function loginPanel(onAuthed, toSignup) {
  const email = field({ label: 'Email', id: 'login-email', type: 'email', autocomplete: 'username', testid: 'login-email' });
  const password = field({
    label: 'Password', id: 'login-password', type: 'password', autocomplete: 'current-password', testid: 'login-password',
  });
  const error = formError('login-error');
  // After a sign-up whose log-in failed: the sign-up's neutral answer, read out.
  const notice = h('p', { class: 'notice', testid: 'login-notice', hidden: true });
  const button = h('button', { type: 'submit', class: 'primary', testid: 'login-submit' }, 'Log in');
  const form = h('form', { class: 'stack', novalidate: true }, notice, email.el, password.el, error, button);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const values = { email: email.input.value.trim(), password: password.input.value };
    if (!values.email || !values.password) {
      showError(error, 'Enter your email address and password.');
      (values.email ? password : email).input.focus();
      return;
    }
    runForm(form, button, error, 'Logging in…', async () => {
      const user = await logIn(values);
      await onAuthed(user);
    });
  });
  const forgot = forgotPassword(() => email.input.value.trim());
  const panel = h('div', { id: 'panel-login', role: 'tabpanel', 'aria-labelledby': 'tab-login', class: 'tab-panel' },
    form,
    forgot,
    switchLine('New to Mend?', 'Create an account', 'switch-to-signup', toSignup));
  panel.prefill = (address, message) => {
    email.input.value = address;
    password.input.value = '';
    showError(error, '');
    notice.textContent = message;
    notice.hidden = !message;
    if (message) announce(message);
  };
  return panel;
}

/** "Forgot your password?": a disclosure with one e-mail field. The answer is the same
 *  whether or not the address has an account (the server never says). */
function forgotPassword(currentEmail) {
  const region = h('div', { class: 'forgot', id: 'forgot-panel', hidden: true, testid: 'forgot-panel' });
  const toggle = h('button', {
    type: 'button', class: 'link-button', testid: 'forgot-password',
    'aria-expanded': 'false', 'aria-controls': 'forgot-panel',
    onclick: () => {
      const open = region.hidden;
      region.hidden = !open;
      toggle.setAttribute('aria-expanded', String(open));
      if (open) {
        if (!input.value) input.value = currentEmail();
        input.focus();
      }
    },
  }, 'Forgot your password?');

  const input = h('input', {
    id: 'forgot-email', name: 'forgot-email', type: 'email', autocomplete: 'email',
    required: true, testid: 'forgot-email', maxLength: 254,
  });
  const error = formError('forgot-error');
  // Read out through the page's announcer (a live region that appears is not always read).
  const result = h('p', { class: 'notice', testid: 'forgot-result', hidden: true });
  const button = h('button', { type: 'submit', class: 'secondary', testid: 'forgot-submit' }, 'Send me a link');
  const form = h('form', { class: 'stack', novalidate: true },
    h('div', { class: 'field' },
      h('label', { for: 'forgot-email' }, 'The email address you log in with'),
      input),
    error, button);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const email = input.value.trim();
    if (!email || !input.checkValidity()) {
      showError(error, email ? "That email address doesn't look right." : 'Enter your email address.');
      input.focus();
      return;
    }
    result.hidden = true;
    runForm(form, button, error, 'Sending…', async () => {
      await requestPasswordReset(email);
      button.disabled = false;
      button.textContent = 'Send me a link';
      form.removeAttribute('aria-busy');
      result.textContent = 'If an account uses that address and this Mend can send e-mail, a link is on its way. '
        + 'Otherwise ask whoever runs this Mend to reset it.';
      result.hidden = false;
      announce(result.textContent);
    });
  });
  append(region, h('h2', { class: 'forgot-title' }, 'Reset your password'), form, result);
  return h('div', { class: 'forgot-wrap' }, h('p', { class: 'switch-line' }, toggle), region);
}

function append(el, ...children) {
  el.append(...children);
  return el;
}
