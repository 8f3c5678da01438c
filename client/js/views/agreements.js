// "Our agreements" on the couple's home: every agreement made on a boundary step, with its
// status in words (active, due for review, set aside, withdrawn) and its revisit date.
// Either partner can keep one going when it is due, set one aside, bring it back, or
// withdraw it, at any time, each after a confirmation that says what the other partner
// will see. The other partner is told in a sentence at the top of this card (the server
// keeps those sentences for two weeks) and the card reloads live on both screens
// (`agreements:changed` on the app's socket; the words never travel in that push).

import { h, announce, formatDate, nextId } from '../dom.js';
import { api } from '../api.js';
import { appSocket } from '../socket.js';

const STATUS_WORDS = {
  active: 'Active',
  due_for_review: 'Due for review',
  set_aside: 'Set aside',
  withdrawn: 'Withdrawn',
};
const DONE_WORDS = { 'set-aside': 'set aside', withdraw: 'withdrew', reinstate: 'brought back', keep: 'kept' };
// What each confirmation says, with the partner's name; null: the move needs no confirming.
const CONFIRM = {
  'set-aside': (name) => `Set this agreement aside for now? ${name} will see that you set it aside. Either of you can bring it back later.`,
  withdraw: (name) => `Withdraw this agreement? ${name} will see that you withdrew it. A withdrawn agreement can't be brought back, though you can always make a new one together.`,
  reinstate: null,
  keep: null,
};
const CONFIRM_LABEL = { 'set-aside': 'Yes, set it aside', withdraw: 'Yes, withdraw it' };
const MOVE_LABEL = { keep: 'Keep it going', 'set-aside': 'Set aside', reinstate: 'Bring it back', withdraw: 'Withdraw' };
const DONE_MESSAGE = {
  keep: 'Kept. It comes up for review again on its new date.',
  'set-aside': 'Set aside. Either of you can bring it back.',
  reinstate: 'Brought back. It has a new revisit date.',
  withdraw: 'Withdrawn.',
};

/** "2026-12-27" as a local date (not shifted by the time zone). */
function dateOnly(iso) {
  if (!iso) return '';
  const [y, m, d] = iso.split('-').map(Number);
  return formatDate(new Date(y, m - 1, d).toISOString());
}

function movesFor(status) {
  if (status === 'due_for_review') return ['keep', 'set-aside', 'withdraw'];
  if (status === 'active') return ['set-aside', 'withdraw'];
  if (status === 'set_aside') return ['reinstate', 'withdraw'];
  return [];
}

const cards = new Map(); // `${user}:${couple}` -> card state

/**
 * The card for the home page, kept across the home's live re-renders (like the check-ins
 * card): it loads when first drawn on a page, on every `agreements:changed` push and after
 * a reconnect, and stays hidden while the couple has no agreements.
 */
export function agreementsCard(coupleId, me) {
  const key = `${me.user.id}:${coupleId}`;
  let card = cards.get(key);
  if (!card) {
    card = {
      coupleId,
      me,
      el: h('section', { class: 'card agreements-card', 'aria-labelledby': 'agreements-title', testid: 'agreements-card', hidden: true }),
      data: null,
      seq: 0,
      confirming: null, // agreement id whose confirmation is open, with its move
      busy: null,
      errors: new Map(), // agreement id -> message
      focusAfter: null,
    };
    cards.set(key, card);
    const reloadIfShown = () => { if (card.el.isConnected) load(card); };
    appSocket.on('agreements:changed', reloadIfShown);
    appSocket.on('connect', reloadIfShown);
  }
  card.me = me;
  const partner = partnerOf(me, coupleId);
  card.partnerName = partner ? partner.display_name : 'Your partner';
  if (!card.el.isConnected) load(card);
  return card.el;
}

function partnerOf(me, coupleId) {
  const couple = (me.couples || []).find((c) => c.id === coupleId);
  return couple ? (couple.partners || []).find((p) => p.user_id !== me.user.id) || null : null;
}

async function load(card) {
  const seq = ++card.seq;
  try {
    const result = await api.get(`/couples/${encodeURIComponent(card.coupleId)}/agreements`);
    if (seq !== card.seq) return;
    const before = card.data;
    card.data = { agreements: result.agreements || [], notices: result.notices || [] };
    // A change the partner made while this page was open is said aloud once.
    if (before) {
      const known = new Set(before.notices.map((n) => `${n.agreement_id}:${n.at}`));
      card.data.notices.filter((n) => !known.has(`${n.agreement_id}:${n.at}`)).forEach((n) => announce(n.text));
    }
    draw(card);
  } catch {
    /* extra to the home: a failed load leaves the card as it was (a reconnect loads again) */
  }
}

function draw(card) {
  const { agreements, notices } = card.data;
  const meId = card.me.user.id;
  const focusedId = card.el.contains(document.activeElement) ? document.activeElement.dataset.testid : null;
  const focusedItem = card.el.contains(document.activeElement)
    ? document.activeElement.closest('[data-agreement-id]')?.dataset.agreementId : null;
  card.el.hidden = agreements.length === 0;
  const current = agreements.filter((a) => a.status !== 'withdrawn');
  const withdrawn = agreements.filter((a) => a.status === 'withdrawn');
  const due = current.filter((a) => a.status === 'due_for_review').length;
  // (the DOM's own replaceChildren would print a null as "null": leave the gaps out)
  card.el.replaceChildren(...[
    h('h2', { id: 'agreements-title' }, 'Our agreements'),
    h('p', { class: 'muted small' }, "The agreements you've made together in your sessions. Either of you can set one aside, bring it back, or withdraw it at any time, and the other is told. Each comes up for review on its date."),
    ...notices.map((n) => h('p', { class: 'notice', testid: 'agreements-notice', 'data-agreement-id': n.agreement_id }, `${n.text} (${formatDate(n.at)})`)),
    due ? h('p', { class: 'agreements-due-line', testid: 'agreements-due-line' }, `${due === 1 ? 'One agreement is' : `${due} agreements are`} due for review. Talk it over together, then keep it going, set it aside, or withdraw it.`) : null,
    current.length
      ? h('ul', { class: 'agreement-list', testid: 'agreement-list' }, current.map((a) => item(card, a, meId)))
      : h('p', { class: 'muted' }, 'No agreements in use right now.'),
    withdrawn.length ? h('details', { class: 'agreements-withdrawn', testid: 'agreements-withdrawn' },
      h('summary', null, `Withdrawn (${withdrawn.length})`),
      h('ul', { class: 'agreement-list' }, withdrawn.map((a) => item(card, a, meId)))) : null,
  ].filter(Boolean));
  // Keep the keyboard where it was (the same control, else the agreement's text).
  const target = card.focusAfter || (focusedItem && { id: focusedItem, testid: focusedId });
  card.focusAfter = null;
  if (target) {
    const li = card.el.querySelector(`[data-agreement-id="${target.id}"]`);
    const el = (li && target.testid && li.querySelector(`[data-testid="${target.testid}"]`))
      || (li && li.querySelector('.agreement-text'));
    if (el) el.focus();
  }
}

function who(card, userId) {
  return userId === card.me.user.id ? 'you' : card.partnerName;
}

function statusLine(card, a) {
  const changed = a.changed;
  if ((a.status === 'withdrawn' || a.status === 'set_aside') && changed) {
    return `${a.status === 'withdrawn' ? 'Withdrawn' : 'Set aside'} by ${who(card, changed.by)} on ${formatDate(changed.at)}`;
  }
  const parts = [`Made on ${formatDate(a.made_at)}`];
  if (a.revisit_on) parts.push(a.status === 'due_for_review' ? `review due since ${dateOnly(a.revisit_on)}` : `revisit on ${dateOnly(a.revisit_on)}`);
  if (changed) parts.push(`${DONE_WORDS[changed.move]} by ${who(card, changed.by)} on ${formatDate(changed.at)}`);
  return parts.join(' · ');
}

function item(card, a, meId) {
  const textId = nextId('agreement');
  const confirming = card.confirming && card.confirming.id === a.id ? card.confirming.move : null;
  const error = card.errors.get(a.id);
  return h('li', { class: `agreement agreement-${a.status}`, testid: 'agreement', 'data-agreement-id': a.id, 'data-status': a.status },
    h('p', { class: 'agreement-text', id: textId, tabIndex: -1, testid: 'agreement-text' }, a.text),
    h('p', { class: 'agreement-meta small' },
      h('span', { class: `badge agreement-status agreement-status-${a.status}`, testid: 'agreement-status' }, STATUS_WORDS[a.status] || a.status),
      ' ',
      h('span', { class: 'muted', testid: 'agreement-when' }, statusLine(card, a)),
      a.proposed_by ? h('span', { class: 'muted' }, ` · first written by ${a.proposed_by === meId ? 'you' : card.partnerName}`) : null),
    confirming ? confirmBox(card, a, confirming, textId) : moves(card, a, textId),
    error ? h('p', { class: 'field-error', role: 'alert', testid: 'agreement-error' }, error) : null);
}

function moves(card, a, textId) {
  const list = movesFor(a.status);
  if (!list.length) return null;
  return h('div', { class: 'agreement-actions', role: 'group', 'aria-labelledby': textId },
    list.map((move) => h('button', {
      type: 'button',
      class: move === 'keep' || move === 'reinstate' ? 'secondary' : 'link-button',
      testid: `agreement-${move}`,
      disabled: Boolean(card.busy),
      onclick: () => {
        card.errors.delete(a.id);
        if (CONFIRM[move]) {
          card.confirming = { id: a.id, move };
          card.focusAfter = { id: a.id, testid: 'agreement-confirm' };
          draw(card);
        } else send(card, a, move);
      },
    }, MOVE_LABEL[move])));
}

function confirmBox(card, a, move, textId) {
  const questionId = nextId('confirm');
  const cancel = () => {
    card.confirming = null;
    card.focusAfter = { id: a.id, testid: `agreement-${move}` };
    draw(card);
  };
  return h('div', {
    class: 'agreement-confirm', role: 'group', 'aria-labelledby': `${questionId} ${textId}`, testid: 'agreement-confirm-box',
    onkeydown: (event) => { if (event.key === 'Escape') cancel(); },
  },
  h('p', { id: questionId, class: 'small' }, CONFIRM[move](card.partnerName)),
  h('div', { class: 'agreement-actions' },
    h('button', { type: 'button', class: 'primary', testid: 'agreement-confirm', disabled: Boolean(card.busy), onclick: () => send(card, a, move) }, CONFIRM_LABEL[move]),
    h('button', { type: 'button', class: 'secondary', testid: 'agreement-cancel', onclick: cancel }, 'Cancel')));
}

async function send(card, a, move) {
  card.busy = a.id;
  draw(card);
  try {
    await api.post(`/agreements/${encodeURIComponent(a.id)}/${move}`, {});
    card.confirming = null;
    announce(DONE_MESSAGE[move]);
  } catch (error) {
    card.errors.set(a.id, error.message);
  }
  card.busy = null;
  card.focusAfter = { id: a.id, testid: 'agreement-text' };
  await load(card);
}
