// `appreciation`: something specific each partner valued in the other, revealed together.
// Skippable unless the track says otherwise (the server sets `step.optional`).
import { textWidget, bodyDisplay } from '../views/answers.js';
import { registerKind } from './registry.js';

export default registerKind({
  name: 'appreciation',
  takesAnswer: true,
  editor: (step, values, options) => textWidget(step.answer || { type: 'text' }, values, { ...options, rows: 4 }),
  emptyMessage: (step) => (step.optional
    ? 'Write your appreciation before you submit, or choose to skip it.'
    : 'Write your appreciation before you submit.'),
  display: (step, entry) => bodyDisplay(entry && entry.body),
});
