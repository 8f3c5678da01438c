// Text limits, one way for every kind. A box never cuts: no maxlength, so a paste stays
// whole. Under the box ONE line says where the text stands: a quiet count, and over the
// limit the only message about it (red, with the box marked aria-invalid). Nothing else on
// the page repeats it: no save status, no second warning by the button, no error line. A
// screen reader hears the same sentence once, when the text crosses the limit.
//
// The limit comes from the step's view (the server's number: a kind's `max_length`, or
// listening's `max_chars`); the server refuses the same text with `too_large`, and neither
// side ever keeps a shortened copy.

import { h, nextId, announce } from './dom.js';

const numbers = new Intl.NumberFormat('en');
export const formatCount = (n) => numbers.format(n);

/** A usable limit from a view's value, else `fallback` (a positive whole number or null). */
export function limitFrom(value, fallback = null) {
  const n = Number(value);
  return Number.isFinite(n) && n > 0 ? Math.floor(n) : fallback;
}

/** "120 characters over the limit of 2,000. …", or null when `length` fits. */
export function overLimitMessage(length, max) {
  if (!max || length <= max) return null;
  const over = length - max;
  return `${formatCount(over)} ${over === 1 ? 'character' : 'characters'} over the limit of ${formatCount(max)}. `
    + "Nothing has been cut, but it can't be saved or sent until it's shorter.";
}

/**
 * Watch one textarea (or text input) against `max`.
 * Returns {el, id, problem(), update(speak), focus()}:
 *   el        the one line to put under the box (null when there is no limit);
 *   problem() the message while over the limit, else null;
 *   focus()   puts the keyboard in the box and says the message again (a press of Send
 *             while over the limit: the box is where the fix is).
 * `count`: 'always' shows "12 / 2,000 characters" all the time; 'near' only from 90% on.
 * `onChange(over)` runs after every update.
 */
export function watchLimit(input, max, { count = 'always', testid = 'char-counter', onChange } = {}) {
  input.removeAttribute('maxlength'); // the browser would cut a paste silently
  if (!max) {
    return { el: null, id: null, problem: () => null, update: () => null, focus: () => input.focus() };
  }
  const id = nextId('limit');
  const el = h('p', { id, class: 'counter', testid });
  const described = (input.getAttribute('aria-describedby') || '').split(/\s+/).filter(Boolean);
  input.setAttribute('aria-describedby', [...described, id].join(' '));
  let wasOver = false;
  const problem = () => overLimitMessage(input.value.length, max);
  const update = (speak = false) => {
    const length = input.value.length;
    const over = problem();
    const near = !over && length >= max * 0.9;
    el.textContent = over || (count === 'always' || near ? `${formatCount(length)} / ${formatCount(max)} characters` : '');
    el.hidden = !el.textContent;
    el.classList.toggle('near-limit', near);
    el.classList.toggle('over-limit', Boolean(over));
    if (over) input.setAttribute('aria-invalid', 'true');
    else input.removeAttribute('aria-invalid');
    // Only the crossing is announced (the running count is read when the box has focus).
    if (speak && Boolean(over) !== wasOver) announce(over || 'Back within the limit.');
    wasOver = Boolean(over);
    if (onChange) onChange(over);
    return over;
  };
  input.addEventListener('input', () => update(true));
  update(false);
  return {
    el,
    id,
    problem,
    update,
    focus: () => {
      input.focus();
      const over = problem();
      if (over) announce(over);
    },
  };
}
