// An address that matches no page (the server answers it with this shell and status 404).

import { h, replaceChildren } from '../dom.js';

export function renderNotFound(root) {
  document.title = 'Mend'; // neutral: no track, no name (issue 15)
  replaceChildren(root, h('div', { class: 'card not-found', testid: 'not-found' },
    h('h1', { class: 'view-title', tabIndex: -1 }, 'Page not found'),
    h('p', null, "There's no page at this address. The link may be mistyped or out of date."),
    h('a', { href: '/', 'data-link': '', class: 'button-link', testid: 'not-found-home' }, 'Go to home')));
}
