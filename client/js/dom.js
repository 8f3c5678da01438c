// A tiny DOM helper. User text always goes in as text nodes (never innerHTML).

const PROPS = new Set(['value', 'checked', 'disabled', 'id', 'type', 'name', 'htmlFor',
  'maxLength', 'minLength', 'required', 'tabIndex', 'hidden', 'open', 'autocomplete',
  'placeholder', 'rows', 'href', 'readOnly', 'min', 'max', 'title', 'lang', 'spellcheck']);

/**
 * h('button', {class: 'primary', onclick: fn, testid: 'submit'}, 'Send')
 * Children: strings/numbers become text nodes; null/false/undefined are skipped;
 * arrays are flattened.
 */
export function h(tag, props = null, ...children) {
  const el = document.createElement(tag);
  if (props) {
    for (const [key, value] of Object.entries(props)) {
      if (value === undefined || value === null || value === false) continue;
      if (key === 'class') el.className = Array.isArray(value) ? value.filter(Boolean).join(' ') : value;
      else if (key === 'testid') el.setAttribute('data-testid', value);
      else if (key === 'text') el.textContent = value;
      else if (key === 'dataset') Object.assign(el.dataset, value);
      else if (key === 'for') el.htmlFor = value;
      else if (key.startsWith('on') && typeof value === 'function') {
        el.addEventListener(key.slice(2).toLowerCase(), value);
      } else if (PROPS.has(key)) el[key] = value;
      else el.setAttribute(key, value === true ? '' : String(value));
    }
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

export function replaceChildren(el, ...children) {
  clear(el);
  return append(el, children);
}

/** Split plain text on blank lines into <p> elements (text only). */
export function paragraphs(text, className) {
  if (!text) return [];
  return String(text)
    .split(/\n\s*\n/)
    .map((para) => para.trim())
    .filter(Boolean)
    .map((para) => h('p', { class: className }, para));
}

let uid = 0;
export function nextId(prefix = 'm') {
  uid += 1;
  return `${prefix}-${uid}`;
}

/** Tell screen-reader users about something that changed elsewhere on the page. */
export function announce(message) {
  const region = document.getElementById('announcer');
  if (!region) return;
  region.textContent = '';
  // A fresh text node after a tick makes repeated messages announce again.
  setTimeout(() => { region.textContent = message; }, 50);
}

export function formatDate(iso) {
  if (!iso) return '';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return '';
  return date.toLocaleDateString(undefined, { day: 'numeric', month: 'short', year: 'numeric' });
}

export function formatTime(iso) {
  if (!iso) return '';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return '';
  return date.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
}

/** Copy `text` to the clipboard; where the Clipboard API isn't allowed (plain http), select
 * `input` (which shows the same text) and use the older copy command. True when copied. */
export async function copyText(text, input) {
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch { /* fall back below */ }
  input.focus();
  input.select();
  try { return document.execCommand('copy'); } catch { return false; }
}
