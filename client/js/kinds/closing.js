// `closing`: the end of a track. A short reflection (may be left blank) and a check-out
// scale, read back beside the earlier scale it is compared with ("Earlier: 4 → now: 6").
import { h } from '../dom.js';
import { textWidget, scaleWidget, scaleDisplay, bodyDisplay } from '../views/answers.js';
import { registerKind } from './registry.js';

function scaleLegend(scale) {
  const labels = scale.labels || {};
  const low = labels.min ? `${scale.min} (${labels.min})` : String(scale.min);
  const high = labels.max ? `${scale.max} (${labels.max})` : String(scale.max);
  return `Right now, from ${low} to ${high}`;
}

function editor(step, values, { labelledBy, describedBy, onChange }) {
  const answer = step.answer || {};
  const scaleSpec = answer.scale || { min: 1, max: 10 };
  const reflection = textWidget(answer.reflection || {}, values, {
    labelledBy, describedBy, onChange, rows: 4, label: 'A few words (optional)',
  });
  const scale = scaleWidget(scaleSpec, values, { onChange, legend: scaleLegend(scaleSpec) });
  return {
    el: h('div', { class: 'closing-editor' }, reflection.el, scale.el),
    getValue: () => ({ body: reflection.getValue().body, fields: scale.getValue().fields }),
    // The reflection may stay empty; the check-out scale is the answer.
    isEmpty: () => scale.isEmpty(),
    focus: () => (scale.isEmpty() && !reflection.isEmpty() ? scale.focus() : reflection.focus()),
    setDisabled: (disabled) => { reflection.setDisabled(disabled); scale.setDisabled(disabled); },
    problem: () => reflection.problem(),
  };
}

/** "Earlier: 4 → now: 6", for one person, when the earlier value is there to show. */
function compareLine(compare, userId, now) {
  if (!compare || !compare.entries) return null;
  const earlier = compare.entries.find((e) => e.user_id === userId);
  if (!earlier || earlier.value === null || earlier.value === undefined) return null;
  return h('p', { class: 'compare-line', testid: 'compare-line' },
    h('span', { class: 'visually-hidden' }, `At “${compare.title}”: `),
    `Earlier: ${earlier.value} → now: ${now ?? '–'}`);
}

function display(step, entry, who = {}) {
  const answer = step.answer || {};
  const value = entry && entry.fields ? entry.fields.value : null;
  return h('div', { class: 'closing-answer' },
    bodyDisplay(entry && entry.body, 'No words added'),
    scaleDisplay(answer.scale || { min: 1, max: 10 }, value),
    compareLine(who.compare, who.userId, value));
}

export default registerKind({
  name: 'closing',
  takesAnswer: true,
  editor,
  emptyMessage: () => 'Choose a number on the scale before you submit. The words are optional.',
  display,
});
