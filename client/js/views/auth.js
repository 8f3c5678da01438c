// Signed-out screen: create an account / log in, as two tabs.

import { h, replaceChildren } from '../dom.js';
import { logIn, signUp } from '../api.js';

export function renderAuth(root, { inviteCode = null, notice = null, onAuthed }) {
  const tabs = [
    { id: 'signup', label: 'Create an account' },
    { id: 'login', label: 'Log in' },
  ];
  let active = inviteCode ? 'signup' : 'login';

  const tabButtons = {};
  const panels = {};

  const tabList = h('div', { class: 'tabs', role: 'tablist', 'aria-label': 'Create an account or log in' });
  for (const tab of tabs) {
    const button = h('button', {
      type: 'button',
      role: 'tab',
      id: `tab-${tab.id}`,
      'aria-controls': `panel-${tab.id}`,
      testid: `tab-${tab.id}`,
      onclick: () => select(tab.id, true),
      onkeydown: (event) => {
        const order = tabs.map((t) => t.id);
        let index = order.indexOf(tab.id);
        if (event.key === 'ArrowRight' || event.key === 'ArrowDown') index = (index + 1) % order.length;
        else if (event.key === 'ArrowLeft' || event.key === 'ArrowUp') index = (index - 1 + order.length) % order.length;
        else if (event.key === 'Home') index = 0;
        else if (event.key === 'End') index = order.length - 1;
        else return;
        event.preventDefault();
        select(order[index], true);
      },
    }, tab.label);
    tabButtons[tab.id] = button;
    tabList.append(button);
  }

  panels.signup = signupPanel(onAuthed);
  panels.login = loginPanel(onAuthed);

  function select(id, focus) {
    active = id;
    for (const tab of tabs) {
      const selected = tab.id === id;
      tabButtons[tab.id].setAttribute('aria-selected', String(selected));
      tabButtons[tab.id].tabIndex = selected ? 0 : -1;
      panels[tab.id].hidden = !selected;
    }
    if (focus) tabButtons[id].focus();
  }

  const intro = inviteCode
    ? h('div', { class: 'invite-banner', testid: 'invite-banner' },
      h('h1', { class: 'view-title', tabIndex: -1 }, "You've been invited to join your partner on Mend"),
      h('p', null, "Create an account (or log in) and you'll join their couple space straight away."))
    : h('div', { class: 'intro' },
      h('h1', { class: 'view-title', tabIndex: -1 }, 'Welcome to Mend'),
      h('p', null, 'A calm, private space for the two of you to rebuild trust, one small step at a time.'));

  const card = h('section', { class: 'card auth-card', 'aria-label': 'Your account' },
    tabList, panels.signup, panels.login);
  replaceChildren(root, h('div', { class: 'auth' },
    intro,
    notice ? h('p', { class: 'notice', role: 'status' }, notice) : null,
    card));
  select(active, false);
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

function formError(testid) {
  return h('p', { class: 'form-error', role: 'alert', testid, hidden: true });
}

function showError(el, message) {
  el.textContent = message || '';
  el.hidden = !message;
}

async function runForm(form, button, errorEl, busyLabel, action) {
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

function signupPanel(onAuthed) {
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
      const user = await signUp(values);
      await onAuthed(user);
    });
  });
  return h('div', { id: 'panel-signup', role: 'tabpanel', 'aria-labelledby': 'tab-signup', class: 'tab-panel' }, form);
}

function loginPanel(onAuthed) {
  const email = field({ label: 'Email', id: 'login-email', type: 'email', autocomplete: 'username', testid: 'login-email' });
  const password = field({
    label: 'Password', id: 'login-password', type: 'password', autocomplete: 'current-password', testid: 'login-password',
  });
  const error = formError('login-error');
  const button = h('button', { type: 'submit', class: 'primary', testid: 'login-submit' }, 'Log in');
  const form = h('form', { class: 'stack', novalidate: true }, email.el, password.el, error, button);
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
  return h('div', { id: 'panel-login', role: 'tabpanel', 'aria-labelledby': 'tab-login', class: 'tab-panel' }, form);
}
