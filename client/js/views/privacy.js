// "Is this device private?": what Mend can and cannot hide from someone who shares or
// watches your phone, computer or e-mail (issue 15). Shown before first use (the sign-up
// form, and the home while the couple space is being set up) and on the account page.
// Plain, short sentences; the same words everywhere, so nobody has to find the "real" one.

import { h } from '../dom.js';

const CAN = [
  'Your partner never sees your words before you both choose to share them.',
  '“Leave quickly” clears the screen at once and locks Mend. Coming back asks for your password, on every device you use.',
];

const CANNOT = [
  'Someone who watches your screen, or checks this device later, can see that you used Mend.',
  'Spying apps and keyloggers can record what you type, here as anywhere.',
  'Anyone who can read your e-mail can read Mend’s e-mails too, like a link to reset your password.',
  'Outside a private window, your browser’s history can show that you visited Mend.',
  'A password your browser saved lets anyone using this browser log in as you.',
];

function openHelp() {
  document.getElementById('get-help')?.click();
}

/**
 * The note. `headingLevel` fits the page it sits in; `id` names it for aria-labelledby.
 */
export function deviceNote({ id = 'device-note', testid = 'device-note', headingLevel = 2 } = {}) {
  const titleId = `${id}-title`;
  return h('section', { class: 'card device-note', 'aria-labelledby': titleId, testid },
    h(`h${headingLevel}`, { id: titleId }, 'Is this device private?'),
    h('p', null, 'If you can, use a phone or computer that only you use, and an e-mail address that only you can open. '
      + 'Mend keeps a lot private, but not everything.'),
    h('p', { class: 'device-note-label' }, 'What Mend does for you:'),
    h('ul', { testid: `${testid}-can` }, CAN.map((line) => h('li', null, line))),
    h('p', { class: 'device-note-label' }, 'What Mend cannot hide:'),
    h('ul', { testid: `${testid}-cannot` }, CANNOT.map((line) => h('li', null, line))),
    h('p', null, 'If you are worried about someone seeing this, or you feel unsafe at home, ',
      h('button', { type: 'button', class: 'link-button', testid: `${testid}-help`, onclick: openHelp },
        'Get help'),
      ' lists people you can talk to in confidence.'));
}
