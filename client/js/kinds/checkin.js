// `checkin`: private ratings (trust, closeness, mood by default), a high and a low since
// last time, and whether you'd like listening or advice — one answer in `fields`
// ({ratings: {id: n}, high, low, support}), revealed together like any prompt. The spec
// (which ratings, the range, the options) comes from the server in `step.answer`.
//
// Each person's numbers are kept from the other partner unless they share them (issue 16):
// `step.line` is the viewer's own standing choice ({shared, couple_id}), changed at once with
// PUT /couples/<id>/checkin-line; a partner's entry without numbers reads `numbers_kept`.

import { h, nextId } from '../dom.js';
import { api } from '../api.js';
import { scaleWidget, textWidget } from '../views/answers.js';
import { registerKind } from './registry.js';

function spec(step) {
  return step.answer || { ratings: [], min: 1, max: 10, support: [], max_length: 500 };
}

/** "Show my numbers to my partner": a standing choice, saved as soon as it changes. */
function lineToggle(step) {
  const line = step.line;
  if (!line || !line.couple_id) return null;
  const id = nextId('line');
  const status = h('p', { class: 'muted small', role: 'status', testid: 'checkin-line-status' });
  const box = h('input', { type: 'checkbox', id, testid: 'checkin-line-share' });
  box.checked = Boolean(line.shared);
  const say = (shared) => {
    status.textContent = shared
      ? 'Your partner sees your numbers here and on the chart at home.'
      : 'Your numbers stay with you. Your partner sees your high, low and wish, not your numbers.';
  };
  say(box.checked);
  box.addEventListener('change', async () => {
    const wanted = box.checked;
    box.disabled = true;
    try {
      await api.put(`/couples/${encodeURIComponent(line.couple_id)}/checkin-line`, { shared: wanted });
      line.shared = wanted;
      say(wanted);
    } catch (error) {
      box.checked = !wanted;
      status.textContent = `Your choice wasn't saved: ${error.message}`;
    } finally {
      box.disabled = false;
    }
  });
  return h('div', { class: 'checkin-line', testid: 'checkin-line' },
    h('p', { class: 'choice' }, box,
      h('label', { for: id }, 'Show my numbers to my partner (you can change this any time)')),
    status);
}

function editor(step, values, { labelledBy, describedBy, onChange }) {
  const answer = spec(step);
  const fields = values.fields || {};
  const ratings = fields.ratings || {};
  const scales = answer.ratings.map((rating) => ({
    id: rating.id,
    widget: scaleWidget({ min: answer.min, max: answer.max }, { fields: { value: ratings[rating.id] ?? null } }, {
      onChange, legend: `${rating.label}, from ${answer.min} to ${answer.max}`,
    }),
  }));
  scales.forEach(({ id, widget }) => widget.el.setAttribute('data-testid', `checkin-rating-${id}`));
  const high = textWidget({ max_length: answer.max_length }, { body: fields.high || '' }, {
    onChange, rows: 2, label: 'A high since last time (optional)', testid: 'checkin-high',
  });
  const low = textWidget({ max_length: answer.max_length }, { body: fields.low || '' }, {
    onChange, rows: 2, label: 'A low since last time (optional)', testid: 'checkin-low',
  });
  const name = nextId('support');
  const legendId = nextId('legend');
  const radios = answer.support.map((option) => {
    const input = h('input', { type: 'radio', name, value: option.id, id: `${name}-${option.id}`, testid: `checkin-support-${option.id}` });
    input.checked = fields.support === option.id;
    input.addEventListener('change', onChange);
    return input;
  });
  const support = h('fieldset', { class: 'choices checkin-support', 'aria-labelledby': legendId },
    h('legend', { id: legendId, class: 'answer-label' }, 'Right now, would you like listening or advice?'),
    h('ul', { class: 'choice-list' }, radios.map((input, i) => h('li', { class: 'choice' },
      input, h('label', { for: input.id }, answer.support[i].label)))));
  const picked = () => radios.find((r) => r.checked);
  const getValue = () => {
    const out = {};
    const given = {};
    scales.forEach(({ id, widget }) => {
      const value = widget.getValue().fields;
      if (value) given[id] = value.value;
    });
    if (Object.keys(given).length) out.ratings = given;
    if (high.getValue().body.trim()) out.high = high.getValue().body;
    if (low.getValue().body.trim()) out.low = low.getValue().body;
    if (picked()) out.support = picked().value;
    return { body: null, fields: Object.keys(out).length ? out : null };
  };
  return {
    el: h('div', { class: 'checkin-editor', role: 'group', 'aria-labelledby': labelledBy || undefined, 'aria-describedby': describedBy || undefined },
      scales.map(({ widget }) => widget.el), high.el, low.el, support, lineToggle(step)),
    getValue,
    // Not ready to send until every rating and the listening-or-advice choice are in.
    isEmpty: () => scales.some(({ widget }) => widget.isEmpty()) || !picked(),
    focus: () => ((scales.find(({ widget }) => widget.isEmpty()) || scales[0])?.widget.focus()),
    setDisabled: (disabled) => {
      scales.forEach(({ widget }) => widget.setDisabled(disabled));
      high.setDisabled(disabled);
      low.setDisabled(disabled);
      radios.forEach((r) => { r.disabled = disabled; });
    },
    problem: () => high.problem() || low.problem(),
  };
}

function display(step, entry, who = {}) {
  const answer = spec(step);
  const fields = (entry && entry.fields) || {};
  const ratings = fields.ratings || {};
  const option = answer.support.find((o) => o.id === fields.support);
  const kept = entry && entry.numbers_kept;
  return h('div', { class: 'checkin-answer' },
    kept ? h('p', { class: 'muted', testid: 'checkin-numbers-kept' },
      `${who.name || 'Your partner'} keeps their numbers to themselves.`) : null,
    kept ? null : h('dl', { class: 'checkin-ratings' }, answer.ratings.map((r) => [
      h('dt', null, r.label),
      h('dd', { testid: `checkin-value-${r.id}` }, ratings[r.id] != null ? `${ratings[r.id]} / ${answer.max}` : '–'),
    ])),
    fields.high ? h('p', null, h('strong', null, 'High: '), fields.high) : null,
    fields.low ? h('p', null, h('strong', null, 'Low: '), fields.low) : null,
    option ? h('p', { testid: 'checkin-support' }, h('strong', null, 'Would like: '), option.label) : null,
    who.isMine && step.line ? lineToggle(step) : null);
}

export default registerKind({
  name: 'checkin',
  takesAnswer: true,
  editor,
  emptyMessage: () => 'Give each rating a number and say whether you would like listening or advice.',
  display,
});
