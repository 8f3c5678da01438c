// Answer widgets (text / scale / choices) for writing, and read-only displays of answers.

import { h, nextId } from '../dom.js';

/** {body, fields} from a saved draft or entry, shaped for the widget of `answer`. */
export function valuesFrom(source) {
  if (!source) return { body: '', fields: null };
  return { body: source.body || '', fields: source.fields || null };
}

/**
 * Build the input for an answer spec. Returns
 * {el, getValue() -> {body, fields}, isEmpty(), focus(), setDisabled(bool)}.
 */
export function answerWidget(answer, values, { labelledBy, describedBy, onChange }) {
  const type = answer && answer.type;
  if (type === 'scale') return scaleWidget(answer, values, { labelledBy, describedBy, onChange });
  if (type === 'choices') return choicesWidget(answer, values, { labelledBy, describedBy, onChange });
  return textWidget(answer || { type: 'text' }, values, { labelledBy, describedBy, onChange });
}

function textWidget(answer, values, { labelledBy, describedBy, onChange }) {
  const max = Number(answer.max_length) || null;
  const counterId = nextId('counter');
  const textarea = h('textarea', {
    id: nextId('answer'),
    rows: 7,
    maxLength: max || undefined,
    'aria-labelledby': labelledBy,
    'aria-describedby': [describedBy, max ? counterId : null].filter(Boolean).join(' ') || undefined,
    testid: 'answer-text',
    spellcheck: true,
  });
  textarea.value = values.body || '';
  const counter = max ? h('p', { id: counterId, class: 'counter', testid: 'char-counter' }) : null;
  const updateCounter = () => {
    if (!counter) return;
    const length = textarea.value.length;
    counter.textContent = `${length} / ${max} characters`;
    counter.classList.toggle('near-limit', length >= max * 0.9);
  };
  updateCounter();
  textarea.addEventListener('input', () => {
    updateCounter();
    onChange();
  });
  return {
    el: h('div', { class: 'answer-text' }, textarea, counter),
    getValue: () => ({ body: textarea.value, fields: null }),
    isEmpty: () => textarea.value.trim() === '',
    focus: () => textarea.focus(),
    setDisabled: (disabled) => { textarea.readOnly = disabled; },
  };
}

function scaleWidget(answer, values, { labelledBy, describedBy, onChange }) {
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
  h('legend', { id: legendId, class: 'visually-hidden' }, `Your answer, from ${min} to ${max}`),
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
  };
}

function choicesWidget(answer, values, { labelledBy, describedBy, onChange }) {
  const multiple = Boolean(answer.multiple);
  const name = nextId('choices');
  const chosen = new Set((values.fields && values.fields.choices) || []);
  const legendId = nextId('legend');
  const inputs = (answer.options || []).map((option, index) => {
    const input = h('input', {
      type: multiple ? 'checkbox' : 'radio', name, id: `${name}-${index}`, testid: `choice-${index}`,
    });
    input.value = option;
    input.checked = chosen.has(option);
    input.addEventListener('change', onChange);
    return input;
  });
  const fieldset = h('fieldset', {
    class: 'choices', testid: 'answer-choices', 'aria-describedby': describedBy || undefined,
  },
  h('legend', { id: legendId, class: 'legend-note' }, multiple ? 'Choose any that apply' : 'Choose one'),
  h('ul', { class: 'choice-list' }, inputs.map((input) => h('li', { class: 'choice' },
    input, h('label', { for: input.id }, input.value)))));
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
  };
}

/** A read-only rendering of one answer ({body, fields}) for an answer spec. */
export function answerDisplay(answer, entry) {
  const type = answer && answer.type;
  const fields = (entry && entry.fields) || {};
  if (type === 'scale') {
    if (fields.value === undefined || fields.value === null) return h('p', { class: 'answer-empty' }, 'No answer');
    const labels = answer.labels || null;
    let note = null;
    if (labels && Number(fields.value) === Number(answer.min) && labels.min) note = labels.min;
    if (labels && Number(fields.value) === Number(answer.max) && labels.max) note = labels.max;
    return h('div', { class: 'answer-scale' },
      h('p', { class: 'scale-value' }, `${fields.value} / ${answer.max}`),
      note ? h('p', { class: 'scale-note' }, note) : null);
  }
  if (type === 'choices') {
    const choices = fields.choices || [];
    if (!choices.length) return h('p', { class: 'answer-empty' }, 'Nothing chosen');
    return h('ul', { class: 'answer-choices' }, choices.map((choice) => h('li', null, choice)));
  }
  const body = (entry && entry.body) || '';
  if (!body.trim()) return h('p', { class: 'answer-empty' }, 'Left blank');
  return h('div', { class: 'answer-body' }, body);
}
