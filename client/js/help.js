// "Get help" and "Leave quickly": on every screen, logged in or not (index.html loads this
// module on its own, so it works even when the app itself could not load).
//
// Privacy rules this file keeps:
// * Nothing here touches the session socket or the session: getting help is invisible to the
//   partner. The list comes from GET /api/v1/help *without cookies* (credentials: 'omit'),
//   so the request is not tied to an account, and it is fetched once when the page loads,
//   for everyone, so opening the dialog itself sends nothing at all.
// * Nothing is written to localStorage, sessionStorage or cookies. Remembering the chosen
//   country would be convenient, but a stored "help country" is a trace that someone looked
//   for help, readable by whoever picks up the device; the choice lives only until the page
//   is closed, and the default comes from the browser's language each time.

import { h, replaceChildren, announce } from './dom.js';

const DEFAULT_LEAVE_URL = 'https://www.bbc.com/weather';
const SHIFT_PRESSES = 3;
const SHIFT_WINDOW_MS = 1500;
const KIND_HEADINGS = {
  emergency: 'In immediate danger',
  crisis: 'If you are struggling or in crisis',
  domestic_violence: 'If a partner is hurting, controlling or frightening you',
  own_behaviour: 'If you are worried about how you treat your partner',
};
const KIND_ORDER = ['emergency', 'domestic_violence', 'crisis', 'own_behaviour'];

const state = {
  country: null, // the code the dialog shows; null until the first list arrives
  lists: new Map(), // code asked for -> the API's answer (in memory only)
  countries: [],
  dialog: null,
  rendered: false,
  opener: null,
  leaving: false,
};

// ---- country ------------------------------------------------------------------------------

/** The region of the browser's language (en-GB -> GB), or null. */
export function browserCountry(languages = navigator.languages || [navigator.language]) {
  for (const tag of languages) {
    if (!tag) continue;
    try {
      // Only a region the browser states ("en-GB"); not one guessed from "en".
      const { region } = new Intl.Locale(tag);
      if (region && /^[A-Z]{2}$/.test(region)) return region;
    } catch {
      // An unparsable tag: try the next one.
    }
  }
  return null;
}

async function fetchList(code) {
  const key = code || '';
  if (state.lists.has(key)) return state.lists.get(key);
  const query = code ? `?country=${encodeURIComponent(code)}` : '';
  const response = await fetch(`/api/v1/help${query}`, {
    credentials: 'omit', // no cookie: the request is not tied to anyone's account
    cache: 'no-store',
    referrerPolicy: 'no-referrer', // nor to the page (e.g. /s/<session id>) it came from
    headers: { Accept: 'application/json' },
  });
  const data = await response.json();
  if (!response.ok || !data || !data.ok) throw new Error('help list unavailable');
  state.lists.set(key, data);
  state.countries = data.countries;
  return data;
}

// ---- the dialog ---------------------------------------------------------------------------

function digits(number) {
  return String(number).replace(/[^\d+]/g, '');
}

function smsHref(number, message) {
  const body = message ? `?body=${encodeURIComponent(message)}` : '';
  return `sms:${digits(number)}${body}`;
}

function resourceItem(resource) {
  const ways = [];
  if (resource.phone) {
    ways.push(h('li', null, h('a', { href: `tel:${digits(resource.phone)}`, class: 'help-call' },
      `Call ${resource.phone}`)));
  }
  if (resource.text) {
    const label = resource.text_message
      ? `Text ${resource.text_message} to ${resource.text}` : `Text ${resource.text}`;
    ways.push(h('li', null, h('a', { href: smsHref(resource.text, resource.text_message) }, label)));
  }
  if (resource.url) {
    let host = resource.url;
    try {
      host = new URL(resource.url).hostname.replace(/^www\./, '');
    } catch {
      // Shown as given.
    }
    ways.push(h('li', null, h('a', {
      href: resource.url, target: '_blank', rel: 'noopener noreferrer',
    }, host, h('span', { class: 'visually-hidden' }, ' (opens in a new tab)'))));
  }
  return h('li', { class: 'help-resource', testid: 'help-resource', 'data-kind': resource.kind },
    h('h4', { class: 'help-resource-name' }, resource.name),
    h('p', { class: 'help-resource-description' }, resource.description),
    resource.hours ? h('p', { class: 'help-resource-hours' }, `Open ${resource.hours}`) : null,
    h('ul', { class: 'help-ways' }, ways));
}

function renderList(container, data) {
  const groups = KIND_ORDER
    .map((kind) => [kind, data.resources.filter((r) => r.kind === kind)])
    .filter(([, items]) => items.length);
  replaceChildren(container, groups.map(([kind, items]) => h('section', { class: 'help-group' },
    h('h3', null, KIND_HEADINGS[kind]),
    h('ul', { class: 'help-resources' }, items.map(resourceItem)))));
}

function countrySelect(onChange) {
  const select = h('select', { id: 'help-country', name: 'country', testid: 'help-country' });
  select.addEventListener('change', () => onChange(select.value));
  return select;
}

function fillCountries(select, selected) {
  replaceChildren(select, state.countries.map((c) => h('option', { value: c.code }, c.name)));
  select.value = selected;
}

function buildDialog() {
  const list = h('div', { class: 'help-list', testid: 'help-list', 'aria-live': 'polite' });
  const status = h('p', { class: 'help-status', role: 'status' });
  const select = countrySelect(async (code) => {
    status.textContent = 'Loading…';
    try {
      const data = await fetchList(code);
      state.country = data.country;
      renderList(list, data);
      status.textContent = '';
    } catch {
      status.textContent = "We couldn't load that list. If you are in danger, call your local emergency number.";
    }
  });
  const title = h('h2', { id: 'help-title', tabIndex: -1 }, 'Get help');
  const close = h('button', {
    type: 'button', class: 'secondary help-close', testid: 'help-close',
    onclick: () => dialog.close(),
  }, 'Close');
  const dialog = h('dialog', {
    class: 'help-dialog', id: 'help-dialog', testid: 'help-dialog',
    'aria-labelledby': 'help-title',
  },
  h('div', { class: 'help-head' }, title,
    h('div', { class: 'help-head-actions' },
      // The top bar's button is behind the dialog: leaving must stay one tap away.
      h('button', {
        type: 'button', class: 'leave-button', testid: 'help-leave-top',
        onclick: () => leaveQuickly(),
      }, 'Leave quickly'),
      close)),
  h('p', { class: 'help-private' },
    'Only you see this. Nothing is sent to your partner or added to your session.'),
  h('p', { class: 'help-not-crisis' },
    'Mend is not a crisis service. If you feel unsafe at home or are in crisis, these can help now.'),
  h('div', { class: 'field help-country' },
    h('label', { for: 'help-country' }, 'Country'), select),
  status,
  list,
  h('section', { class: 'help-leave', testid: 'help-leave-note' },
    h('h3', null, 'Leave quickly'),
    h('p', null, '“Leave quickly” at the top of every page — or pressing Shift three times in a row — '
      + 'blanks this page at once and opens an ordinary news site in its place, so Back does not return to it.'),
    h('p', null, 'It also locks Mend, in every tab and on every device where you are logged in. '
      + 'Coming back shows only a box for your password: no name, no answers.'),
    h('p', null, 'What it cannot hide:'),
    h('ul', { class: 'help-limits' },
      h('li', null, 'Your browser history: the list of sites you visited may still show Mend. A private window keeps none.'),
      h('li', null, 'That you have a Mend account. The lock hides what is inside, not that Mend is there.'),
      h('li', null, 'What your partner already sees on their own device, and what Mend keeps: your account, the answers you sent and drafts already saved.'),
      h('li', null, 'Calls, texts and websites you open from this list: they appear in your phone’s call log, messages and browser history.'),
      h('li', null, 'Passwords or form entries the browser saved.')),
    h('button', {
      type: 'button', class: 'leave-button', testid: 'help-leave', onclick: () => leaveQuickly(),
    }, 'Leave quickly now')));

  dialog.addEventListener('close', () => {
    // Focus goes back to the button that opened the dialog.
    const opener = state.opener;
    state.opener = null;
    if (opener && opener.isConnected) opener.focus();
  });
  document.body.append(dialog);
  return { dialog, select, list, title, status };
}

async function openHelp(event) {
  if (state.leaving) return;
  if (!state.dialog) state.dialog = buildDialog();
  const { dialog, select, list, title, status } = state.dialog;
  state.opener = (event && event.currentTarget) || document.activeElement;
  if (!dialog.open) dialog.showModal();
  title.focus();
  if (!state.rendered) {
    status.textContent = 'Loading…';
    try {
      // Usually answered from memory: the page fetched this list when it loaded.
      const data = await fetchList(state.country || browserCountry());
      state.country = data.country;
      renderList(list, data);
      state.rendered = true;
      status.textContent = '';
    } catch {
      status.textContent = "We couldn't load the list. If you are in danger, call your local emergency number.";
      return;
    }
  }
  fillCountries(select, state.country);
}

// ---- leave quickly ------------------------------------------------------------------------

function leaveUrl() {
  const meta = document.querySelector('meta[name="mend-leave-url"]');
  const wanted = (meta && meta.getAttribute('content')) || DEFAULT_LEAVE_URL;
  try {
    const url = new URL(wanted, location.href);
    if (url.protocol === 'https:' || url.protocol === 'http:') return url.href;
  } catch {
    // Fall through to the default.
  }
  return DEFAULT_LEAVE_URL;
}

/** Lock this log-in on the server, for every tab and device of it at once: coming back
 *  (Back, the address again, another tab) shows only "Enter your password to continue".
 *  A keepalive request outlives the page; sendBeacon if fetch cannot be made. The server
 *  needs no CSRF token for it (it may be stale), but it is sent when the page has one. */
function lockLogIn() {
  const token = document.querySelector('meta[name="csrf-token"]')?.getAttribute('content');
  try {
    fetch('/api/v1/auth/lock', {
      method: 'POST', keepalive: true, credentials: 'same-origin', cache: 'no-store',
      headers: token ? { 'X-CSRFToken': token } : {},
    }).catch(() => {});
  } catch {
    try {
      navigator.sendBeacon('/api/v1/auth/lock');
    } catch {
      // Nothing must stop the navigation.
    }
  }
}

/** Blank the page, lock the log-in, close the socket and replace this history entry with a
 *  neutral site. */
export function leaveQuickly() {
  if (state.leaving) return;
  state.leaving = true;
  const url = leaveUrl();
  // Blank first: whatever happens next, what was on screen is gone now.
  document.title = '';
  const blank = document.createElement('body');
  blank.className = 'left-quickly';
  document.body.replaceWith(blank);
  lockLogIn();
  // The app closes its socket on this event; the socket is also closed directly if the app
  // exposes it, and the browser closes anything left when the page goes.
  try {
    window.dispatchEvent(new Event('mend:leave'));
  } catch {
    // Nothing must stop the navigation below.
  }
  try {
    window.__mendSocket?.disconnect();
  } catch {
    // Same.
  }
  // replace(): the neutral site takes this page's place in history, so Back skips Mend.
  location.replace(url);
}

// A session with unsaved writing asks "Leave site?" before unloading. Leaving quickly must
// never stop to ask: this listener is registered in the capture phase on window, which
// runs before the page's own (bubble-phase) listeners, and cuts them off while leaving.
window.addEventListener('beforeunload', (event) => {
  if (state.leaving) event.stopImmediatePropagation();
}, { capture: true });

// Shift pressed three times: the rule.
// * It works while typing (focus in an answer box): in an emergency nobody should have to
//   click out of a text box first.
// * Only a *bare* Shift tap counts: Shift pressed and released with no other key in between.
//   Typing capitals (Shift held with a letter) never counts, and any other key resets the
//   count, so only three bare taps in a row within 1.5 s leave. (GOV.UK's "Exit this page"
//   uses the same idea: Shift three times, reset by other keys.)
const shift = { down: false, spoiled: false, taps: [] };

window.addEventListener('keydown', (event) => {
  if (event.key === 'Shift') {
    if (!event.repeat) {
      shift.down = true;
      shift.spoiled = false;
    }
    return;
  }
  shift.taps = [];
  if (shift.down) shift.spoiled = true;
}, { capture: true });

window.addEventListener('keyup', (event) => {
  if (event.key !== 'Shift') return;
  const bare = shift.down && !shift.spoiled;
  shift.down = false;
  if (!bare) {
    shift.taps = [];
    return;
  }
  const now = performance.now();
  shift.taps = shift.taps.filter((t) => now - t <= SHIFT_WINDOW_MS);
  shift.taps.push(now);
  if (shift.taps.length >= SHIFT_PRESSES) {
    shift.taps = [];
    leaveQuickly();
  } else if (shift.taps.length === SHIFT_PRESSES - 1) {
    announce('Press Shift once more to leave quickly.');
  }
}, { capture: true });

// A window switch mid-tap (Shift down, Alt+Tab away) must not leave a stale half-press.
window.addEventListener('blur', () => {
  shift.down = false;
  shift.taps = [];
});

// ---- the first Tab stop --------------------------------------------------------------------
// Leave quickly is the first control in the page (index.html), so on a fresh page the first
// Tab reaches it. Each new screen moves focus to its heading, or into its content (an
// answer box), for screen readers and for typing; from there the next Tab would skip the
// top bar. So the first Tab after a screen loads (app.js fires `mend:view`) goes to Leave
// quickly, wherever focus was put; Tab then carries on in page order (Get help, the top
// bar, the screen). It stops applying as soon as the person does anything else: a click
// or tap, any other key (typing, arrows), or Shift+Tab, which moves back as usual.
let firstTabPending = true;

window.addEventListener('mend:view', () => {
  firstTabPending = true;
});

window.addEventListener('keydown', (event) => {
  if (event.key === 'Shift') return; // Shift taps are Leave quickly's own gesture
  const pending = firstTabPending;
  firstTabPending = false;
  if (!pending || event.key !== 'Tab' || event.shiftKey || event.altKey || event.ctrlKey
      || event.metaKey || event.defaultPrevented) return;
  const leave = document.getElementById('leave-quickly');
  const active = document.activeElement;
  if (!leave || active === leave || (active && active.closest && active.closest('dialog'))) return;
  event.preventDefault();
  leave.focus();
}, { capture: true });

window.addEventListener('pointerdown', () => {
  firstTabPending = false;
}, { capture: true });

// ---- wiring -------------------------------------------------------------------------------

// When the top bar has scrolled out of sight, the buttons float in a corner (CSS
// `.floating`); the wrapper keeps its size so the bar's layout does not jump.
function keepInReach() {
  const bar = document.getElementById('topbar');
  const wrapper = document.getElementById('safety-actions');
  if (!bar || !wrapper || !('IntersectionObserver' in window)) return;
  new IntersectionObserver(([entry]) => {
    const float = !entry.isIntersecting;
    if (float === wrapper.classList.contains('floating')) return;
    if (float) {
      const { width, height } = wrapper.getBoundingClientRect();
      wrapper.style.minWidth = `${width}px`;
      wrapper.style.minHeight = `${height}px`;
    } else {
      wrapper.style.minWidth = '';
      wrapper.style.minHeight = '';
    }
    wrapper.classList.toggle('floating', float);
  }).observe(bar);
}

function wire() {
  keepInReach();
  document.getElementById('get-help')?.addEventListener('click', openHelp);
  document.getElementById('leave-quickly')?.addEventListener('click', () => leaveQuickly());
  // Every page load asks for the default list, whether or not anyone opens help, so the
  // request says nothing about the person, and help still opens if the network drops later.
  fetchList(browserCountry()).catch(() => {});
}

wire();
