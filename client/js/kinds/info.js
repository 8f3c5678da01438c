// `info`: a card to read together; both press Continue to move on.
import { paragraphs } from '../dom.js';
import { registerKind } from './registry.js';

export default registerKind({
  name: 'info',
  takesAnswer: false,
  body: (step) => paragraphs(step.body),
});
