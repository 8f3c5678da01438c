// `prompt`: a question each partner answers privately (text, a scale or choices).
import { answerWidget, answerDisplay } from '../views/answers.js';
import { registerKind } from './registry.js';

export default registerKind({
  name: 'prompt',
  takesAnswer: true,
  editor: (step, values, options) => answerWidget(step.answer, values, options),
  emptyMessage: (step) => (step.answer && step.answer.type === 'text'
    ? 'Write your answer before you submit.'
    : 'Choose an answer before you submit.'),
  display: (step, entry) => answerDisplay(step.answer, entry),
});
