// Answer widgets (text / scale / choices) for writing, and read-only displays of answers.
// The step kinds (js/kinds/) compose these; a kind with its own shape (closing) builds on
// textWidget and scaleWidget.

import { h, nextId, announce } from '../dom.js';
import { watchLimit, limitFrom } from '../limits.js';

export { formatCount, overLimitMessage } from '../limits.js';

/** {body, fields} from a saved draft or entry, shaped for the widget of `answer`. */
export function valuesFrom(source) {
  if (!source) return { body: '', fields: null };
  return { body: source.body || '', fields: source.fields || null };
}

/**
 * Build the input for a plain answer spec (text, scale, choices). Every widget returns
 * {el, getValue() -> {body, fields}, isEmpty(), focus(), setDisabled(bool), problem()}:
 * problem() is a sentence saying why this value can't be sent yet (too long), or null.
 */
export function answerWidget(answer, values, { labelledBy, describedBy, onChange }) {
  const type = answer && answer.type;
  if (type === 'scale') return scaleWidget(answer, values, { labelledBy, describedBy, onChange });
  if (type === 'choices') return choicesWidget(answer, values, { labelledBy, describedBy, onChange });
  return textWidget(answer || { type: 'text' }, values, { labelledBy, describedBy, onChange });
}

/**
 * A textarea that never cuts: there is no maxlength, so pasted text stays whole. Over the
 * step's limit the counter becomes a message and problem() says why it can't be sent.
 */
export function textWidget(answer, values, { labelledBy, describedBy, onChange, label, rows = 7, testid = 'answer-text' }) {
  const max = limitFrom(answer.max_length);
  const labelId = label ? nextId('label') : null;
  const textarea = h('textarea', {
    id: nextId('answer'),
    rows,
    'aria-labelledby': [labelledBy, labelId].filter(Boolean).join(' ') || undefined,
    'aria-describedby': describedBy || undefined,
    testid,
    spellcheck: true,
  });
  textarea.value = values.body || '';
  // The count, and over the limit the one message about it (js/limits.js).
  const limit = watchLimit(textarea, max);
  textarea.addEventListener('input', () => onChange());
  return {
    el: h('div', { class: 'answer-text' },
      label ? h('label', { id: labelId, for: textarea.id, class: 'answer-label' }, label) : null,
      textarea, limit.el),
    getValue: () => ({ body: textarea.value, fields: null }),
    isEmpty: () => textarea.value.trim() === '',
    focus: () => limit.focus(),
    setDisabled: (disabled) => { textarea.readOnly = disabled; },
    problem: limit.problem,
    counterId: limit.id,
  };
}

export function scaleWidget(answer, values, { labelledBy, describedBy, onChange, legend }) {
  const min = Number(answer.min);
  const max = Number(answer.max);
  const name = nextId('scale');
  const current = values.fields && values.fields.value != null ? Number(values.fields.value) : null;
  const labels = answer.labels || null;
  const legendId = nextId('legend');
  const inputs = [];
  const options = [];
  for (let value = min; value <= max; value += 1) {
    const input = h('input', {
      type: 'radio', name, value: String(value), id: `${name}-${value}`, testid: `scale-${value}`,
    });
    input.checked = current === value;
    let extra = '';
    if (labels && value === min && labels.min) extra = `, ${labels.min}`;
    if (labels && value === max && labels.max) extra = `, ${labels.max}`;
    input.addEventListener('change', onChange);
    inputs.push(input);
    options.push(h('div', { class: 'scale-option' },
      input,
      h('label', { for: input.id }, String(value), extra ? h('span', { class: 'visually-hidden' }, extra) : null)));
  }
  const fieldset = h('fieldset', {
    class: 'scale', testid: 'answer-scale', 'aria-describedby': describedBy || undefined,
  },
  h('legend', { id: legendId, class: legend ? 'answer-label' : 'visually-hidden' }, legend || `Your answer, from ${min} to ${max}`),
  h('div', { class: 'scale-options' }, options),
  labels ? h('div', { class: 'scale-labels', 'aria-hidden': 'true' },
    h('span', null, `${min}: ${labels.min || ''}`), h('span', null, `${max}: ${labels.max || ''}`)) : null);
  if (labelledBy) fieldset.setAttribute('aria-labelledby', `${labelledBy} ${legendId}`);
  const selected = () => inputs.find((input) => input.checked);
  return {
    el: fieldset,
    getValue: () => {
      const input = selected();
      return { body: null, fields: input ? { value: Number(input.value) } : null };
    },
    isEmpty: () => !selected(),
    focus: () => (selected() || inputs[0]).focus(),
    setDisabled: (disabled) => inputs.forEach((input) => { input.disabled = disabled; }),
    problem: () => null,
  };
}

/**
 * Checkboxes or radios. An `exclusive` option ("None of these right now") can't be ticked
 * with others: ticking it clears the rest, ticking another clears it, and a polite
 * announcement says what was unticked.
 */
export function choicesWidget(answer, values, { labelledBy, describedBy, onChange }) {
  const multiple = Boolean(answer.multiple);
  const exclusive = new Set(multiple ? answer.exclusive || [] : []);
  const name = nextId('choices');
  const chosen = new Set((values.fields && values.fields.choices) || []);
  const legendId = nextId('legend');
  const exclusiveNoteId = exclusive.size ? nextId('exclusive') : null;
  const inputs = (answer.options || []).map((option, index) => {
    const input = h('input', {
      type: multiple ? 'checkbox' : 'radio', name, id: `${name}-${index}`, testid: `choice-${index}`,
      'aria-describedby': exclusive.has(option) ? exclusiveNoteId : undefined,
    });
    input.value = option;
    input.checked = chosen.has(option);
    input.addEventListener('change', () => {
      if (input.checked && exclusive.size) clearOthers(input);
      onChange();
    });
    return input;
  });
  function clearOthers(input) {
    const isExclusive = exclusive.has(input.value);
    const cleared = inputs.filter((other) => other !== input && other.checked
      && (isExclusive || exclusive.has(other.value)));
    cleared.forEach((other) => { other.checked = false; });
    if (!cleared.length) return;
    announce(isExclusive
      ? `“${input.value}” chosen, so the other ${cleared.length === 1 ? 'choice was' : `${cleared.length} choices were`} unticked.`
      : `“${cleared[0].value}” was unticked.`);
  }
  const fieldset = h('fieldset', {
    class: 'choices', testid: 'answer-choices', 'aria-describedby': describedBy || undefined,
  },
  h('legend', { id: legendId, class: 'legend-note' }, multiple ? 'Choose any that apply' : 'Choose one'),
  h('ul', { class: 'choice-list' }, inputs.map((input) => h('li', {
    class: exclusive.has(input.value) ? 'choice choice-exclusive' : 'choice',
  }, input, h('label', { for: input.id }, input.value)))),
  exclusiveNoteId ? h('p', { id: exclusiveNoteId, class: 'hint exclusive-note' },
    'Choosing this one clears the others.') : null);
  if (labelledBy) fieldset.setAttribute('aria-labelledby', `${labelledBy} ${legendId}`);
  const picked = () => inputs.filter((input) => input.checked).map((input) => input.value);
  return {
    el: fieldset,
    getValue: () => {
      const choices = picked();
      return { body: null, fields: choices.length ? { choices } : null };
    },
    isEmpty: () => picked().length === 0,
    focus: () => (inputs.find((input) => input.checked) || inputs[0])?.focus(),
    setDisabled: (disabled) => inputs.forEach((input) => { input.disabled = disabled; }),
    problem: () => null,
  };
}

/** A scale value read back: "6 / 10" and the end label when it is one. */
export function scaleDisplay(spec, value) {
  if (value === undefined || value === null) return h('p', { class: 'answer-empty' }, 'No answer');
  const labels = spec.labels || null;
  let note = null;
  if (labels && Number(value) === Number(spec.min) && labels.min) note = labels.min;
  if (labels && Number(value) === Number(spec.max) && labels.max) note = labels.max;
  return h('div', { class: 'answer-scale' },
    h('p', { class: 'scale-value' }, `${value} / ${spec.max}`),
    note ? h('p', { class: 'scale-note' }, note) : null);
}

/** Written words read back (kept as typed: line breaks and all, as text). */
export function bodyDisplay(body, emptyText = 'Left blank') {
  if (!body || !body.trim()) return h('p', { class: 'answer-empty' }, emptyText);
  return h('div', { class: 'answer-body' }, body);
}

/** A read-only rendering of one answer ({body, fields}) for an answer spec. */
export function answerDisplay(answer, entry) {
  const type = answer && answer.type;
  const fields = (entry && entry.fields) || {};
  if (type === 'scale') return scaleDisplay(answer, fields.value);
  if (type === 'choices') {
    const choices = fields.choices || [];
    if (!choices.length) return h('p', { class: 'answer-empty' }, 'Nothing chosen');
    return h('ul', { class: 'answer-choices' }, choices.map((choice) => h('li', null, choice)));
  }
  return bodyDisplay(entry && entry.body);
}

/** What stands in for the answer of someone who deleted their account: a sentence. */
export function removedDisplay() {
  return h('p', { class: 'answer-skipped', testid: 'answer-removed' },
    'Removed: the person who wrote this deleted their account.');
}

/** What stands in for an answer someone chose not to give: a sentence, never an empty box. */
export function skippedDisplay(name, isMine) {
  return h('p', { class: 'answer-skipped', testid: 'answer-skipped' },
    isMine ? 'You chose not to share this yet.' : `${name} chose not to share this yet.`);
}
