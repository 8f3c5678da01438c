// `boundary`: agreements, not walls. Each partner writes a few "I need … / I'll …" items
// privately; both lists are shown together; then each item goes back and forth (agree,
// let's talk, suggest a change, park) until it is agreed or parked. The server decides
// whose move each item waits for (`waiting_on`); this view only offers the moves to that
// partner. Gentle flags (content rules in step.settings.flags) explain the difference
// between openness offered and access demanded; they read only what a person NEEDS (an
// offer is openness given), show only to the person writing, and never block. No box cuts
// text: over the step's limit the words stay and one line under the box says so.
import { h, replaceChildren, announce, nextId, formatDate } from '../dom.js';
import { isTransient, newClientId } from '../socket.js';
import { watchLimit } from '../limits.js';
import { registerKind } from './registry.js';

const DRAFT_DEBOUNCE_MS = 800;
const STATE_WORDS = {
  proposed: 'Waiting for an answer',
  countered: 'A change was suggested',
  agreed: 'Agreed',
  parked: 'Parked for now',
};

function escapeRegExp(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

const normal = (text) => text.toLowerCase().replace(/[\u2018\u2019]/g, "'");

/** Whole words in order, any spacing, case and apostrophe style ignored: the server's
 * rule (server/engine/kinds/boundary.py, phrase_matches). */
function phraseMatches(phrase, text) {
  const words = normal(phrase).split(/\s+/).filter(Boolean);
  if (!words.length) return false;
  const body = words.map(escapeRegExp).join('\\s+');
  return new RegExp(`(?:^|[^a-z0-9_'])(?:${body})(?=$|[^a-z0-9_'])`).test(normal(text));
}

/** The content's flags whose phrases occur in an item's NEED (never its offer). */
export function flagsFor(step, need) {
  if (!need) return [];
  const rules = (step.settings && step.settings.flags) || [];
  return rules.filter((rule) => (rule.phrases || []).some((phrase) => phraseMatches(phrase, need)));
}

function itemText(item) {
  const parts = [];
  if (item.need) parts.push(`I need ${item.need}`);
  if (item.offer) parts.push(`I'll ${item.offer}`);
  return parts.join(' / ');
}

/** "2026-12-27" as a local date (not shifted by the time zone). */
function dateOnly(iso) {
  if (!iso) return '';
  const [y, m, d] = iso.split('-').map(Number);
  return formatDate(new Date(y, m - 1, d).toISOString());
}

function flagNotes(flags, testid = 'boundary-flag') {
  return flags.map((flag) => h('p', { class: 'boundary-flag', testid, 'data-flag': flag.id },
    h('span', { class: 'boundary-flag-mark' }, 'A gentle note: '),
    flag.message));
}

function setting(step, key, fallback) {
  return (step.settings && step.settings[key]) || fallback;
}

// ---- writing the list -------------------------------------------------------------------

class ListEditor {
  constructor(step, ctx, items) {
    this.ctx = ctx;
    this.step = step;
    this.max = setting(step, 'max_items', 5);
    this.maxLength = setting(step, 'max_length', 300);
    this.rows = [];
    this.timer = null;
    this.sending = false;
    this.listEl = h('ol', { class: 'boundary-rows', testid: 'boundary-rows' });
    this.addButton = h('button', { type: 'button', class: 'secondary', testid: 'boundary-add', onclick: () => this.add(true) }, 'Add an item');
    this.countEl = h('p', { class: 'muted small', 'aria-live': 'polite', testid: 'boundary-count' });
    this.saveEl = h('p', { class: 'muted small', testid: 'boundary-save-status' });
    this.errorEl = h('p', { class: 'field-error', role: 'alert', tabIndex: -1, hidden: true, testid: 'boundary-error' });
    this.shareButton = h('button', { type: 'button', class: 'primary', testid: 'boundary-share', onclick: () => this.share() }, 'Share my list');
    this.el = h('div', { class: 'boundary-editor' },
      h('p', { class: 'muted small' }, `Up to ${this.max} items. Each can say what you need, what you'll do, or both. Your list stays private until you have both shared yours.`),
      this.listEl,
      h('div', { class: 'boundary-editor-actions' }, this.addButton, this.countEl, this.saveEl),
      this.errorEl,
      this.shareButton);
    for (const item of items.length ? items : [{}]) this.add(false, item);
    this.refresh();
  }

  add(focus, item = {}) {
    if (this.rows.length >= this.max) return;
    const row = { need: null, offer: null, el: null, flagsEl: h('div', { class: 'boundary-row-flags', 'aria-live': 'polite' }) };
    const needId = nextId('need');
    const offerId = nextId('offer');
    row.need = h('textarea', { id: needId, rows: 2, value: item.need || '', testid: 'boundary-need', oninput: () => this.changed() });
    row.offer = h('textarea', {
      id: offerId, rows: 2, value: item.offer || '', testid: 'boundary-offer',
      oninput: () => this.changed(),
      // Ctrl/Cmd+Enter in the last "I'll" box starts the next item.
      onkeydown: (event) => {
        if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
          event.preventDefault();
          this.add(true);
        }
      },
    });
    row.remove = h('button', { type: 'button', class: 'link-button', testid: 'boundary-remove', onclick: () => this.remove(row) }, 'Remove');
    row.legend = h('legend', null);
    // One line under each box: a count near the limit, and over it the only message.
    row.limits = [row.need, row.offer].map((box) => watchLimit(box, this.maxLength, { count: 'near', testid: 'boundary-limit' }));
    row.el = h('li', { class: 'boundary-row', testid: 'boundary-row' },
      h('fieldset', null, row.legend,
        h('label', { for: needId }, 'I need …'), row.need, row.limits[0].el,
        h('label', { for: offerId }, "I'll …"), row.offer, row.limits[1].el,
        row.flagsEl, row.remove));
    this.rows.push(row);
    this.listEl.append(row.el);
    this.refresh();
    if (focus) {
      row.need.focus();
      this.changed();
    }
  }

  remove(row) {
    const index = this.rows.indexOf(row);
    this.rows.splice(index, 1);
    row.el.remove();
    if (!this.rows.length) this.add(false);
    const next = this.rows[Math.min(index, this.rows.length - 1)];
    next.need.focus();
    announce(`Item removed. ${this.rows.length} left.`);
    this.refresh();
    this.changed();
  }

  values() {
    return this.rows.map((row) => ({ need: row.need.value.trim(), offer: row.offer.value.trim() }));
  }

  refresh() {
    this.rows.forEach((row, i) => {
      row.legend.textContent = `Item ${i + 1}`;
      row.remove.setAttribute('aria-label', `Remove item ${i + 1}`);
      const flags = flagsFor(this.step, row.need.value);
      const shown = row.flagsEl.dataset.flags || '';
      const now = flags.map((f) => f.id).join(',');
      if (shown !== now) {
        row.flagsEl.dataset.flags = now;
        replaceChildren(row.flagsEl, flagNotes(flags));
      }
    });
    this.addButton.disabled = this.rows.length >= this.max || this.sending;
    this.countEl.textContent = `${this.rows.length} of ${this.max}`;
    this.saveEl.textContent = this.saveState || '';
    this.shareButton.disabled = this.sending || this.shared;
    this.shareButton.textContent = this.sending ? 'Sharing…' : this.shared ? 'Shared' : 'Share my list';
  }

  /** The first box over the limit, if any (its line under the box says so). */
  overLimit() {
    for (const row of this.rows) {
      const limit = row.limits.find((l) => l.problem());
      if (limit) return limit;
    }
    return null;
  }

  changed() {
    this.errorEl.hidden = true;
    clearTimeout(this.timer);
    this.edits = (this.edits || 0) + 1;
    // Over the limit nothing is saved (the server would refuse it) and nothing else on
    // the page repeats the line under the box.
    if (this.overLimit()) {
      this.saveState = '';
    } else {
      this.saveState = 'Not saved yet';
      this.timer = setTimeout(() => this.saveDraft(), DRAFT_DEBOUNCE_MS);
    }
    this.refresh();
  }

  async saveDraft() {
    const edits = this.edits;
    const result = await this.ctx.saveDraft(null, { items: this.values() });
    // A later edit (its own save pending) or the list already shared: this answer is old.
    if (this.sending || this.shared || edits !== this.edits) return;
    // Honest: "Saved" only once the server has the words; offline, they wait here.
    this.saveState = result && result.ok ? 'Draft saved' : 'Not saved yet (offline?)';
    this.refresh();
  }

  showError(message) {
    this.errorEl.textContent = message;
    this.errorEl.hidden = false;
    this.errorEl.focus();
  }

  async share() {
    const over = this.overLimit();
    if (over) {
      over.focus(); // the box with the problem, and its one message said again
      return;
    }
    const items = this.values().filter((item) => item.need || item.offer);
    if (!items.length) {
      this.showError("Write at least one thing you need or will do before you share your list.");
      return;
    }
    clearTimeout(this.timer);
    this.sending = true;
    this.refresh();
    const clientId = newClientId();
    let result;
    for (let attempt = 0; ; attempt += 1) {
      result = await this.ctx.request('entry:submit', { client_id: clientId, fields: { items } });
      if (result.ok || !isTransient(result.error) || attempt >= 2) break;
    }
    this.sending = false;
    this.shared = result.ok;
    this.refresh();
    if (!result.ok) this.showError(result.error.message);
    else announce('Your list is shared.');
  }

  destroy() {
    clearTimeout(this.timer);
  }
}

// ---- the items after the reveal -----------------------------------------------------------

class ItemCard {
  constructor(view) {
    this.view = view;
    this.el = h('li', { class: 'boundary-item', testid: 'boundary-item' });
    this.signature = null;
    this.countering = false;
    this.pending = false;
    this.error = null;
  }

  get ctx() { return this.view.ctx; }

  render(item, readOnly = this.readOnly) {
    this.readOnly = readOnly;
    const me = this.ctx.me.user_id;
    const signature = JSON.stringify([item, readOnly, this.countering, this.pending, this.error]);
    if (signature === this.signature) return;
    const hadFocus = this.el.contains(document.activeElement) ? document.activeElement.dataset.testid : null;
    this.signature = signature;
    this.item = item;
    const mine = item.author === me;
    const author = mine ? 'You' : this.ctx.nameOf(item.author);
    const myMove = item.waiting_on === me && !['agreed', 'parked'].includes(item.state);
    this.el.dataset.itemId = item.id;
    this.el.dataset.state = item.state;
    this.el.className = `boundary-item boundary-${item.state}${mine ? ' boundary-mine' : ''}`;
    const changed = item.need !== item.original.need || item.offer !== item.original.offer;
    replaceChildren(this.el,
      h('p', { class: 'boundary-item-author' }, mine ? 'Your item' : `${author}'s item`),
      h('p', { class: 'boundary-item-text', testid: 'boundary-item-text' }, itemText(item)),
      changed ? h('p', { class: 'muted small', testid: 'boundary-item-original' }, `First written: ${itemText(item.original)}`) : null,
      h('p', { class: 'boundary-state', testid: 'boundary-state' },
        STATE_WORDS[item.state] || item.state,
        item.talk && !['agreed', 'parked'].includes(item.state) ? h('span', { class: 'boundary-talk', testid: 'boundary-talk-mark' }, ' · to talk about') : null),
      flagNotes(item.flags || [], 'boundary-item-flag'),
      this.history(item),
      this.controls(item, myMove));
    if (hadFocus) this.el.querySelector(`[data-testid="${hadFocus}"]`)?.focus();
  }

  history(item) {
    const notes = item.history.filter((move) => move.move === 'counter' || move.note);
    if (!notes.length) return null;
    return h('ul', { class: 'boundary-history' }, notes.map((move) => h('li', null,
      `${move.by === this.ctx.me.user_id ? 'You' : this.ctx.nameOf(move.by)}`,
      move.move === 'counter' ? ` suggested: ${itemText(move)}` : ` (${move.move})`,
      move.note ? ` — “${move.note}”` : null)));
  }

  controls(item, myMove) {
    if (this.readOnly || ['agreed', 'parked'].includes(item.state)) return null;
    if (!myMove) {
      const waiting = item.waiting_on ? this.ctx.nameOf(item.waiting_on) : 'your partner';
      return h('p', { class: 'muted small', testid: 'boundary-waiting' }, `Waiting for ${waiting} to answer this one.`);
    }
    if (this.countering) return this.counterForm(item);
    const button = (label, move, testid, cls = 'secondary') => h('button', {
      type: 'button', class: cls, testid, disabled: this.pending, onclick: () => this.send(move),
    }, label);
    return h('div', { class: 'boundary-moves' },
      h('div', { class: 'boundary-move-buttons', role: 'group', 'aria-label': `Your answer to: ${itemText(item)}` },
        button(item.state === 'countered' ? 'Agree to this' : 'Agree', 'agree', 'boundary-agree', 'primary'),
        item.talk ? null : button("Let's talk", 'talk', 'boundary-talk'),
        h('button', {
          type: 'button', class: 'secondary', testid: 'boundary-counter', disabled: this.pending,
          onclick: () => { this.countering = true; this.error = null; this.render(item); this.el.querySelector('textarea')?.focus(); },
        }, 'Suggest a change'),
        button('Park for now', 'park', 'boundary-park')),
      item.talk ? h('p', { class: 'muted small' }, 'Marked to talk about. When you have talked, agree, suggest a change, or park it. A listening step can help you hear each other first.') : null,
      this.error ? h('p', { class: 'field-error', role: 'alert', testid: 'boundary-move-error' }, this.error) : null);
  }

  counterForm(item) {
    const needId = nextId('cneed');
    const offerId = nextId('coffer');
    const noteId = nextId('cnote');
    const max = setting(this.view.step, 'max_length', 300);
    const need = h('textarea', { id: needId, rows: 2, value: item.need || '', testid: 'boundary-counter-need' });
    const offer = h('textarea', { id: offerId, rows: 2, value: item.offer || '', testid: 'boundary-counter-offer' });
    const note = h('input', { id: noteId, type: 'text', testid: 'boundary-counter-note' });
    const limits = [need, offer, note].map((box) => watchLimit(box, max, { count: 'near', testid: 'boundary-limit' }));
    const flagsEl = h('div', { 'aria-live': 'polite' });
    // The flag speaks to whoever writes the words: here, the partner suggesting them.
    const showFlags = () => replaceChildren(flagsEl, flagNotes(flagsFor(this.view.step, need.value)));
    need.addEventListener('input', showFlags);
    showFlags();
    const form = h('form', {
      class: 'boundary-counter-form', testid: 'boundary-counter-form',
      onsubmit: (event) => {
        event.preventDefault();
        const over = limits.find((l) => l.problem());
        if (over) {
          over.focus();
          return;
        }
        this.send('counter', { need: need.value.trim(), offer: offer.value.trim() }, note.value.trim() || null);
      },
      onkeydown: (event) => {
        if (event.key === 'Escape') {
          this.countering = false;
          this.render(item);
          this.el.querySelector('[data-testid="boundary-counter"]')?.focus();
        }
      },
    },
    h('p', { class: 'small' }, 'Suggest a wording you could both live with.'),
    h('label', { for: needId }, 'I need …'), need, limits[0].el,
    h('label', { for: offerId }, "I'll …"), offer, limits[1].el,
    h('label', { for: noteId }, 'A few words about why (optional)'), note, limits[2].el,
    flagsEl,
    this.error ? h('p', { class: 'field-error', role: 'alert', testid: 'boundary-move-error' }, this.error) : null,
    h('div', { class: 'boundary-move-buttons' },
      h('button', { type: 'submit', class: 'primary', testid: 'boundary-counter-send', disabled: this.pending }, 'Send suggestion'),
      h('button', {
        type: 'button', class: 'secondary', testid: 'boundary-counter-cancel',
        onclick: () => { this.countering = false; this.render(item); },
      }, 'Cancel')));
    return form;
  }

  async send(move, wording = {}, note = null) {
    if (move === 'counter' && !wording.need && !wording.offer) {
      this.error = "Write what you'd suggest before you send it.";
      this.signature = null;
      this.render(this.item);
      return;
    }
    this.pending = true;
    this.error = null;
    this.render(this.item);
    const result = await this.ctx.turn(move, { body: note, fields: { item: this.item.id, ...wording } });
    this.pending = false;
    if (result.ok) {
      this.countering = false;
      announce({ agree: 'Agreed.', talk: 'Marked to talk about.', park: 'Parked for now.', counter: 'Your suggestion is sent.' }[move]);
    } else {
      this.error = result.error.message;
    }
    this.signature = null;
    this.render(this.item);
  }
}

function agreementsBlock(ctx) {
  const agreements = ctx.state.agreements || [];
  if (!agreements.length) return null;
  return h('section', { class: 'boundary-agreements', testid: 'boundary-agreements', 'aria-labelledby': 'boundary-agreements-title' },
    h('h3', { id: 'boundary-agreements-title' }, "Agreements you've made together"),
    h('ul', null, agreements.map((a) => h('li', { class: 'boundary-agreement', testid: 'boundary-agreement', 'data-agreement-id': a.id },
      h('span', { class: 'boundary-agreement-text' }, a.text),
      // Changed on the home since (set aside or withdrawn): said, not shown as in force.
      a.status && a.status !== 'active'
        ? h('span', { class: 'muted small', testid: 'boundary-agreement-status' }, ` · ${a.status === 'withdrawn' ? 'withdrawn' : 'set aside'}`)
        : (a.revisit_on ? h('span', { class: 'muted small' }, ` · revisit on ${dateOnly(a.revisit_on)}`) : null)))));
}

// ---- the whole step ----------------------------------------------------------------------

class BoundaryView {
  constructor(step, ctx) {
    this.ctx = ctx;
    this.step = step;
    this.mode = null;
    this.editor = null;
    this.cards = new Map();
    this.el = h('div', { class: 'boundary', testid: 'boundary' });
    this.bodyEl = h('div', { class: 'boundary-body' });
    this.update(step);
  }

  modeOf(step) {
    if (step.status === 'done' || this.ctx.state.session.status !== 'active') return 'done';
    if (step.revealed) return 'revealed';
    if (this.ctx.me.role !== 'partner' || !step.mine) return 'observe';
    return step.mine.entry ? 'sent' : 'write';
  }

  update(step) {
    this.step = step;
    const mode = this.modeOf(step);
    if (mode !== this.mode) {
      if (this.mode === 'write' && this.editor) this.editor.destroy();
      if (this.mode === 'sent' && mode === 'revealed') announce('Both lists are shared.');
      this.mode = mode;
      this.editor = null;
      this.cards = new Map();
      this.itemsEl = null;
      if (mode === 'done') {
        // Like every finished step: one line, opened (and kept open) by the reader.
        const details = h('details', { class: 'done-details', testid: 'step-done' },
          h('summary', null, h('span', { class: 'summary-text' },
            h('span', { class: 'step-number' }, `Step ${this.ctx.index + 1}`),
            h('span', { class: 'visually-hidden' }, ': '),
            h('span', { class: 'done-title' }, step.title))),
          step.prompt ? h('p', { class: 'prompt' }, step.prompt) : null,
          this.bodyEl);
        details.open = this.userOpen ?? false;
        details.addEventListener('toggle', () => { this.userOpen = details.open; });
        replaceChildren(this.el, details);
      } else {
        replaceChildren(this.el, this.ctx.heading(),
          step.prompt ? h('p', { class: 'prompt' }, step.prompt) : null,
          step.hint && mode === 'write' ? h('p', { class: 'hint' }, step.hint) : null,
          this.bodyEl);
      }
      if (mode === 'write') {
        const draft = step.mine.draft && step.mine.draft.fields ? step.mine.draft.fields.items || [] : [];
        this.editor = new ListEditor(step, this.ctx, draft);
        replaceChildren(this.bodyEl, this.editor.el, this.partnerLine());
        this.partnerEl = this.bodyEl.lastChild;
        return;
      }
    }
    if (mode === 'write') {
      const line = this.partnerLine();
      this.partnerEl.replaceWith(line);
      this.partnerEl = line;
      return;
    }
    if (mode === 'revealed' || mode === 'done') {
      this.renderItems(step, mode);
      return;
    }
    const own = step.mine && step.mine.entry ? step.mine.entry.fields.items : [];
    // Until the partner shares theirs, the list can be taken back into the editor to change
    // (entry:withdraw: the partner sees it as not shared again).
    const canChange = step.status === 'open' && step.partner_status !== 'submitted';
    replaceChildren(this.bodyEl,
      own.length ? h('div', { class: 'boundary-own' },
        h('h3', null, 'Your list'),
        h('ul', { testid: 'boundary-own-list' }, own.map((item, i) => h('li', null, itemText(item),
          flagNotes((step.mine.flags || [])[i] || []))))) : null,
      this.partnerLine(),
      canChange ? h('div', { class: 'actions' }, h('button', {
        type: 'button', class: 'secondary', testid: 'boundary-take-back', disabled: this.takingBack,
        onclick: () => this.takeBack(),
      }, this.takingBack ? 'One moment…' : 'Take my list back to change it')) : null,
      this.changeError ? h('p', { class: 'field-error', role: 'alert', testid: 'boundary-change-error' }, this.changeError) : null);
  }

  async takeBack() {
    if (this.takingBack) return;
    this.takingBack = true;
    this.changeError = null;
    this.update(this.step);
    const result = await this.ctx.request('entry:withdraw', {});
    this.takingBack = false;
    if (result.ok) announce(`Your list is back with you to change. ${this.ctx.partner ? this.ctx.partner.display_name : 'Your partner'} sees it as not shared.`);
    else this.changeError = result.error.message;
    this.update(this.step); // the push that follows opens the editor on the list
  }

  partnerLine() {
    const partner = this.ctx.partner;
    const step = this.step;
    if (!partner) return h('p', { class: 'muted' });
    const name = partner.display_name;
    let text;
    if (this.mode === 'observe') text = 'The lists are shown once both partners have shared theirs.';
    else if (step.partner_status === 'submitted') text = `${name} has shared their list.`;
    else if (step.partner_status === 'writing') text = `${name} is writing their list…`;
    else text = `${name} hasn't started their list yet.`;
    if (this.mode === 'sent') text += step.partner_status === 'submitted' ? '' : ' Both lists are shown together once you have both shared.';
    return h('p', { class: 'muted boundary-partner', testid: 'boundary-partner-status', 'aria-live': 'polite' }, text);
  }

  renderItems(step, mode) {
    if (!this.itemsEl) {
      this.itemsEl = h('ol', { class: 'boundary-items', testid: 'boundary-items', 'aria-label': 'Both lists' });
      this.footEl = h('div', { class: 'boundary-foot' });
      this.agreementsEl = h('div');
      const intro = mode === 'revealed'
        ? h('p', { class: 'muted small' }, "Answer each of your partner's items: agree, talk it over, suggest a change, or park it for another time. Nothing here is a rule for the other; an agreement is something you both choose.")
        : null;
      replaceChildren(this.bodyEl, intro, this.itemsEl, this.agreementsEl, mode === 'done' ? null : this.footEl);
    }
    const items = step.items || [];
    const keep = new Set(items.map((i) => i.id));
    for (const [id, card] of this.cards) if (!keep.has(id)) { card.el.remove(); this.cards.delete(id); }
    items.forEach((item) => {
      let card = this.cards.get(item.id);
      if (!card) {
        card = new ItemCard(this);
        this.cards.set(item.id, card);
        this.itemsEl.append(card.el);
      }
      card.render(item, mode === 'done');
    });
    const agreements = agreementsBlock(this.ctx);
    const agreementsKey = JSON.stringify(this.ctx.state.agreements || []);
    if (this.agreementsEl.dataset.key !== agreementsKey) {
      this.agreementsEl.dataset.key = agreementsKey;
      replaceChildren(this.agreementsEl, agreements);
    }
    if (mode === 'revealed') {
      const open = items.filter((i) => !['agreed', 'parked'].includes(i.state)).length;
      const footKey = JSON.stringify([step.complete, open, step.ready]);
      if (this.footEl.dataset.key !== footKey) {
        this.footEl.dataset.key = footKey;
        replaceChildren(this.footEl, step.complete
          ? this.ctx.readyBlock()
          : h('p', { class: 'muted', testid: 'boundary-open-count' },
            `${open} item${open === 1 ? '' : 's'} still open. When every item is agreed or parked, you can move on.`));
      }
    }
  }

  destroy() {
    if (this.editor) this.editor.destroy();
  }
}

function display(step, entry) {
  const items = (entry && entry.fields && entry.fields.items) || [];
  return h('ul', { class: 'boundary-list' }, items.map((item) => h('li', null, itemText(item))));
}

/** The summary page's extra part: where each item ended up, and the agreements made. */
function summary(step, { me, nameOf }) {
  if (!step.items || !step.items.length) return null;
  return h('div', { class: 'boundary-summary', testid: 'summary-boundary' },
    h('h3', null, 'Where each item ended up'),
    h('ul', null, step.items.map((item) => h('li', { testid: 'summary-boundary-item', 'data-state': item.state },
      `${item.author === me ? 'You' : nameOf(item.author)}: ${itemText(item)} — ${(STATE_WORDS[item.state] || item.state).toLowerCase()}`))),
    step.agreements && step.agreements.length
      ? h('p', { class: 'muted small' }, `${step.agreements.length} agreement${step.agreements.length === 1 ? '' : 's'}, to revisit on ${dateOnly(step.agreements[0].revisit_on)}.`)
      : null);
}

export default registerKind({
  name: 'boundary',
  takesAnswer: true,
  mount: (step, ctx) => {
    const view = new BoundaryView(step, ctx);
    return { el: view.el, update: (next) => view.update(next), destroy: () => view.destroy() };
  },
  display,
  summary,
});
