// `commitment`: one small, concrete, checkable action each for the coming days, written
// privately and revealed together like a prompt (the session screen draws that; this kind
// gives the editor and the read-back, with the due date once it is the couple's).
//
// With `settings.mode: "review"` the step is the next session's look back: each commitment
// from earlier, its owner says how it went (kept / partly / not yet, with an optional
// note) and the partner may reply (thanks, "I hear you", or "Let's talk about this", which
// becomes a topic of a later listening step) — or not at all. Either partner can skip the
// review for today, for both (after a confirmation). The server holds the rules
// (server/engine/kinds/commitment.py); this view draws `step.review`. There is no score
// and no streak: earlier answers show as a plain history line.
//
// Agreements whose revisit date had come are listed after the commitments
// (`step.review.agreements`): either partner may keep one going, set it aside or withdraw
// it (the moves of "Our agreements" on home, with the same confirmations), or ask to talk
// about it. Answering them is optional; one left as it is stays due.

import { h, replaceChildren, paragraphs, formatDate } from '../dom.js';
import { textWidget, bodyDisplay } from '../views/answers.js';
import { registerKind } from './registry.js';

const STATUS_TEXT = { kept: 'Kept', partly: 'Partly', not_yet: 'Not yet' };
const ACK_TEXT = { thanks: 'Thank you for sharing', hear_you: 'I hear you', talk: "Let's talk about this" };
const NOTE_MAX = 500;
// A due agreement's moves here: home's words (client/js/views/agreements.js), and a talk.
const AGREEMENT_MOVES = { keep: 'Keep it going', 'set-aside': 'Set aside', withdraw: 'Withdraw', talk: "Let's talk about this" };
const AGREEMENT_CONFIRM = {
  'set-aside': (name) => `Set this agreement aside for now? ${name} will see that it was set aside. Either of you can bring it back from your home page.`,
  withdraw: (name) => `Withdraw this agreement? ${name} will see that it was withdrawn. A withdrawn agreement can't be brought back, though you can always make a new one together.`,
};
const AGREEMENT_CONFIRM_LABEL = { 'set-aside': 'Yes, set it aside', withdraw: 'Yes, withdraw it' };
const AGREEMENT_DONE = {
  keep: (who, a) => `${who} kept it going. Next look: ${dateOnly(a.revisit_on)}.`,
  'set-aside': (who) => `${who} set it aside. Either of you can bring it back from your home page.`,
  withdraw: (who) => `${who} withdrew it.`,
  talk: (who) => `${who} would like to talk about this.`,
};
const AGREEMENT_SENT = { keep: 'Kept going.', 'set-aside': 'Set aside.', withdraw: 'Withdrawn.', talk: 'Noted: you would like to talk about this.' };

/** "2026-12-27" as a local date (not shifted by the time zone). */
function dateOnly(iso) {
  if (!iso) return '';
  const [y, m, d] = iso.split('-').map(Number);
  return formatDate(new Date(y, m - 1, d).toISOString());
}

function dueLine(record) {
  return record && record.due_on
    ? h('p', { class: 'commitment-due muted small', testid: 'commitment-due' }, `For the days until ${formatDate(`${record.due_on}T12:00:00Z`)}`)
    : null;
}

class ReviewView {
  constructor(step, ctx) {
    this.ctx = ctx;
    this.step = step;
    this.notes = new Map(); // record id -> the note being written
    this.choices = new Map(); // record id -> the status picked, before sending
    this.pending = new Set(); // record ids with a move on its way
    this.errors = new Map(); // record id -> message
    this.confirmingSkip = false;
    this.skipping = false;
    this.confirmingMove = new Map(); // agreement id -> the move waiting for a yes
    this.agreementsEl = h('div', { class: 'review-agreements' });
    this.skipError = null;
    this.itemsEl = h('div', { class: 'review-items' });
    this.readyEl = h('div', { class: 'review-ready' });
    this.itemsSignature = null;
    this.el = h('section', { class: 'commitment-review', testid: 'commitment-review' });
    this.update(step);
  }

  update(step) {
    this.step = step;
    const done = step.status === 'done' || step.status === 'locked';
    const items = (step.review && step.review.items) || [];
    const skipped = Boolean(step.review && step.review.skipped);
    const agreements = (step.review && step.review.agreements) || [];
    const signature = JSON.stringify([items, agreements, done, skipped, [...this.pending], [...this.errors], [...this.choices], [...this.confirmingMove]]);
    if (!this.el.firstChild) {
      this.introEl = h('div', { class: 'review-intro' });
      replaceChildren(this.el, this.ctx.heading(), this.introEl, this.itemsEl, this.agreementsEl, this.readyEl);
    }
    // The prompt and hint speak about commitments: shown when there are some to look back
    // on (a review of due agreements alone has its own heading and words).
    const onlyAgreements = !items.length && agreements.length > 0;
    if (this.introKey !== `${onlyAgreements}:${items.length > 0}`) {
      this.introKey = `${onlyAgreements}:${items.length > 0}`;
      replaceChildren(this.introEl,
        step.prompt && !onlyAgreements ? h('p', { class: 'prompt' }, step.prompt) : null,
        step.hint && !onlyAgreements ? h('p', { class: 'hint' }, step.hint) : null,
        step.body && !items.length && !onlyAgreements ? h('div', { class: 'info-body' }, paragraphs(step.body)) : null);
    }
    if (signature !== this.itemsSignature) {
      this.itemsSignature = signature;
      const focused = this.el.contains(document.activeElement) ? document.activeElement.dataset.testid : null;
      replaceChildren(this.itemsEl,
        skipped ? h('p', { class: 'review-skipped', testid: 'review-skipped' },
          "The review was skipped for today. Anything that wasn't answered comes back next session.") : null,
        items.length
          ? h('ul', { class: 'review-list' }, items.map((item) => this.itemBlock(item, done)))
          : (skipped || agreements.length ? null : h('p', { class: 'empty', testid: 'review-empty' }, done
            ? 'There were no commitments to look back on.'
            : 'No commitments are waiting from last time. You can go straight on.')));
      replaceChildren(this.agreementsEl, agreements.length ? [
        h('h3', { class: 'review-agreements-title' }, 'Agreements due for a look'),
        h('p', { class: 'muted small' }, 'Their revisit date has come. Either of you can keep one going, set it aside, withdraw it, or ask to talk about it. You can also leave it for now: it stays on your home page.'),
        h('ul', { class: 'review-list' }, agreements.map((a) => this.agreementBlock(a, done))),
      ] : []);
      if (focused) this.el.querySelector(`[data-testid="${focused}"]`)?.focus();
    }
    // Replies are optional: once each has said how theirs went, the two can go on.
    const allDone = items.every((item) => item.check);
    const acting = !done && this.ctx.me.role === 'partner';
    replaceChildren(this.readyEl,
      !done && allDone ? this.ctx.readyBlock() : null,
      acting && (items.length || agreements.length) ? this.skipBlock() : null);
  }

  agreementBlock(item, done) {
    const a = item.agreement;
    const errorKey = `agreement-${a.id}`;
    const parts = [h('blockquote', { class: 'commitment-text' }, a.text)];
    if (item.answer) {
      const who = item.answer.by === this.ctx.me.user_id ? 'You' : (this.ctx.partner ? this.ctx.partner.display_name : 'Your partner');
      parts.push(h('p', { class: 'review-answer', testid: 'review-agreement-answer' }, AGREEMENT_DONE[item.answer.move](who, a)));
      if (item.answer.move === 'talk') parts.push(this.talkLine());
    } else if (!done && this.ctx.me.role === 'partner') {
      const name = this.ctx.partner ? this.ctx.partner.display_name : 'Your partner';
      const waiting = this.confirmingMove.get(a.id);
      const busy = this.pending.has(errorKey);
      if (waiting) {
        const textId = `confirm-${a.id}`;
        parts.push(h('div', { class: 'card-inset', role: 'group', 'aria-labelledby': textId },
          h('p', { id: textId }, AGREEMENT_CONFIRM[waiting](name)),
          h('button', { type: 'button', class: 'primary', testid: 'review-agreement-confirm', disabled: busy, onclick: () => this.sendAgreement(a.id, waiting) }, AGREEMENT_CONFIRM_LABEL[waiting]),
          ' ',
          h('button', { type: 'button', class: 'secondary', testid: 'review-agreement-cancel', disabled: busy, onclick: () => { this.confirmingMove.delete(a.id); this.update(this.step); } }, 'Not now')));
      } else {
        parts.push(h('div', { class: 'ack-buttons', role: 'group', 'aria-label': `What to do with: ${a.text}` },
          Object.entries(AGREEMENT_MOVES).map(([move, label]) => h('button', {
            type: 'button', class: 'secondary', testid: `review-agreement-${move}`, disabled: busy,
            onclick: () => {
              if (AGREEMENT_CONFIRM[move]) {
                this.confirmingMove.set(a.id, move);
                this.update(this.step);
              } else {
                this.sendAgreement(a.id, move);
              }
            },
          }, label))));
      }
    }
    const error = this.errors.get(errorKey);
    if (error) parts.push(h('p', { class: 'field-error', role: 'alert' }, error));
    return h('li', { class: 'review-item card-inset', testid: 'review-agreement', 'data-agreement-id': a.id }, parts);
  }

  async sendAgreement(agreementId, move) {
    const ok = await this.send(`agreement-${agreementId}`, 'agreement', { fields: { agreement_id: agreementId, move } });
    if (ok) {
      this.confirmingMove.delete(agreementId);
      this.ctx.announce(AGREEMENT_SENT[move]);
      this.update(this.step);
    }
  }

  // Either partner may set the review aside for today; it ends for both, so ask first.
  skipBlock() {
    if (!this.confirmingSkip) {
      return h('p', { class: 'review-skip' }, h('button', {
        type: 'button', class: 'link-button', testid: 'review-skip',
        onclick: () => { this.confirmingSkip = true; this.update(this.step); this.el.querySelector('[data-testid="review-skip-confirm"]')?.focus(); },
      }, 'Skip the review today'));
    }
    return h('div', { class: 'review-skip-confirm card-inset', role: 'group', 'aria-labelledby': `skip-${this.step.id}` },
      h('p', { id: `skip-${this.step.id}` }, 'Skip the review for both of you today? What has been said stays. Anything not answered yet comes back next session.'),
      this.skipError ? h('p', { class: 'field-error', role: 'alert' }, this.skipError) : null,
      h('button', {
        type: 'button', class: 'primary', testid: 'review-skip-confirm', disabled: this.skipping,
        onclick: () => this.skip(),
      }, this.skipping ? 'One moment…' : 'Skip it for today'),
      ' ',
      h('button', {
        type: 'button', class: 'secondary', testid: 'review-skip-cancel', disabled: this.skipping,
        onclick: () => { this.confirmingSkip = false; this.skipError = null; this.update(this.step); },
      }, 'Keep going'));
  }

  async skip() {
    this.skipping = true;
    this.skipError = null;
    this.update(this.step);
    const result = await this.ctx.turn('skip', {});
    this.skipping = false;
    if (result.ok) {
      this.confirmingSkip = false;
      this.ctx.announce('The review was skipped for today.');
    } else {
      this.skipError = (result.error && result.error.message) || 'That did not go through. Try again.';
    }
    this.update(this.step);
  }

  itemBlock(item, done) {
    const me = this.ctx.me.user_id;
    const record = item.record;
    const mine = record.user_id === me;
    const owner = mine ? 'You' : (item.owner_name || this.ctx.nameOf(record.user_id));
    const partnerName = this.ctx.partner ? this.ctx.partner.display_name : 'Your partner';
    const earlier = (record.checks || []).filter((c) => c.session_id !== this.ctx.state.session.id);
    const parts = [
      h('p', { class: 'commitment-owner' }, mine ? 'Your commitment' : `${owner}'s commitment`),
      h('blockquote', { class: 'commitment-text' }, record.text),
      dueLine(record),
      earlier.length ? h('p', { class: 'muted small', testid: 'review-history' },
        'Earlier: ', earlier.map((c) => `${STATUS_TEXT[c.status] || c.status} (${formatDate(c.at)})`).join(', ')) : null,
    ];
    if (item.check) {
      parts.push(h('p', { class: 'review-answer', testid: 'review-answer' },
        h('strong', null, `${owner}: ${STATUS_TEXT[item.check.status]}`),
        item.check.note ? ` — ${item.check.note}` : null));
    }
    // Only the two partners act here (a counsellor reads along).
    if (!done && this.ctx.me.role === 'partner') parts.push(this.controls(item, mine, owner, partnerName));
    if (item.ack) {
      const who = mine ? partnerName : 'You';
      parts.push(h('p', { class: 'ack-line', testid: 'review-ack' }, `${who}: ${ACK_TEXT[item.ack.ack] || ''}`));
      if (item.ack.ack === 'talk') parts.push(this.talkLine());
    }
    const error = this.errors.get(record.id);
    if (error) parts.push(h('p', { class: 'field-error', role: 'alert' }, error));
    return h('li', { class: 'review-item card-inset', testid: `review-item-${mine ? 'mine' : 'partner'}`, 'data-record-id': record.id }, parts);
  }

  controls(item, mine, owner, partnerName) {
    const record = item.record;
    const busy = this.pending.has(record.id);
    if (mine && !item.ack) {
      if (item.check && !this.choices.has(record.id)) {
        return h('p', { class: 'muted', testid: 'review-shared' }, `Shared. ${partnerName} can reply if they like.`);
      }
      const name = `review-${record.id}`;
      const picked = this.choices.get(record.id) || null;
      const legendId = `${name}-legend`;
      const radios = Object.entries(STATUS_TEXT).map(([value, label]) => {
        const input = h('input', { type: 'radio', name, value, id: `${name}-${value}`, testid: `review-status-${value}` });
        input.checked = picked === value;
        input.addEventListener('change', () => { this.choices.set(record.id, value); });
        return h('span', { class: 'choice' }, input, h('label', { for: input.id }, label));
      });
      const note = textWidget({ type: 'text', max_length: NOTE_MAX }, { body: this.notes.get(record.id) || '' }, {
        onChange: () => this.notes.set(record.id, note.getValue().body), label: 'A few words (optional)', rows: 2, testid: 'review-note',
      });
      return h('div', { class: 'review-controls' },
        h('fieldset', { class: 'review-status', 'aria-labelledby': legendId },
          h('legend', { id: legendId }, 'How did it go?'), radios),
        note.el,
        h('button', {
          type: 'button', class: 'primary', testid: 'review-send', disabled: busy,
          onclick: () => this.sendCheck(record.id, note),
        }, busy ? 'One moment…' : 'Share how it went'));
    }
    if (!mine && !item.check) {
      return h('p', { class: 'muted', testid: 'review-waiting-check' }, `Waiting for ${owner} to say how it went.`);
    }
    if (!mine && item.check && !item.ack) {
      // A reply is optional: nobody has to thank anyone for a "not yet".
      const labelId = `reply-${record.id}`;
      return h('div', { class: 'review-reply' },
        h('p', { id: labelId, class: 'muted small' }, `Reply to ${owner} if you like. You can also just go on.`),
        h('div', { class: 'ack-buttons', role: 'group', 'aria-labelledby': labelId },
          Object.entries(ACK_TEXT).map(([ack, label]) => h('button', {
            type: 'button', class: 'secondary', testid: `review-ack-${ack}`, disabled: busy,
            onclick: () => this.send(record.id, 'ack', { fields: { record_id: record.id, ack } }),
          }, label))));
    }
    return null;
  }

  // Where "Let's talk about this" goes: a later listening step, or a time of their choosing.
  talkLine() {
    const talk = this.step.review && this.step.review.talk_step;
    return h('p', { class: 'muted small', testid: 'review-talk' }, talk
      ? `It's a topic you can pick in “${talk.title}”, later in this session.`
      : 'There is no talking step in this session. Take a few minutes for it together, now or another day.');
  }

  async sendCheck(recordId, note) {
    const status = this.choices.get(recordId);
    if (!status) {
      this.errors.set(recordId, 'Choose kept, partly or not yet first.');
      this.update(this.step);
      return;
    }
    const problem = note.problem();
    if (problem) {
      this.errors.set(recordId, problem);
      this.update(this.step);
      return;
    }
    const ok = await this.send(recordId, 'check', { body: note.getValue().body || null, fields: { record_id: recordId, status } });
    if (ok) {
      this.choices.delete(recordId);
      this.notes.delete(recordId);
      this.ctx.announce(`Shared: ${STATUS_TEXT[status]}.`);
      this.itemsSignature = null;
      this.update(this.step);
    }
  }

  async send(recordId, name, payload) {
    this.pending.add(recordId);
    this.errors.delete(recordId);
    this.update(this.step);
    const result = await this.ctx.turn(name, payload);
    this.pending.delete(recordId);
    if (!result.ok) this.errors.set(recordId, (result.error && result.error.message) || 'That did not go through. Try again.');
    this.update(this.step);
    return result.ok;
  }
}

const review = {
  name: 'commitment',
  takesAnswer: false,
  mount: (step, ctx) => new ReviewView(step, ctx),
  summary: (step, { me, nameOf }) => {
    const items = (step.review && step.review.items) || [];
    const agreements = (step.review && step.review.agreements) || [];
    if (!items.length && !agreements.length) return null;
    const list = items.length ? h('ul', { class: 'review-list', testid: 'summary-review' }, items.map((item) => {
      const mine = item.record.user_id === me;
      const who = mine ? 'You' : nameOf(item.record.user_id);
      return h('li', { class: 'review-item' },
        h('blockquote', { class: 'commitment-text' }, item.record.text),
        h('p', null, `${who}: ${item.check ? STATUS_TEXT[item.check.status] : 'not answered'}`,
          item.check && item.check.note ? ` — ${item.check.note}` : null),
        item.ack ? h('p', { class: 'muted small' }, `Reply: ${ACK_TEXT[item.ack.ack] || ''}`) : null);
    })) : null;
    const due = agreements.length ? h('ul', { class: 'review-list', testid: 'summary-review-agreements' }, agreements.map((item) => {
      const who = item.answer && (item.answer.by === me ? 'You' : nameOf(item.answer.by));
      return h('li', { class: 'review-item' },
        h('blockquote', { class: 'commitment-text' }, item.agreement.text),
        h('p', null, item.answer ? AGREEMENT_DONE[item.answer.move](who, item.agreement) : 'Left for now.'));
    })) : null;
    return h('div', null, list, due,
      step.review.skipped ? h('p', { class: 'muted small' }, 'The rest of the review was skipped that day.') : null);
  },
};

export default registerKind({
  name: 'commitment',
  takesAnswer: true,
  // The review is a different step to draw: the registry asks which one a step needs.
  forStep: (step) => ((step.settings && step.settings.mode === 'review') || step.mode === 'review' ? review : null),
  editor: (step, values, options) => textWidget(step.answer || { type: 'text' }, values, { ...options, rows: 3 }),
  emptyMessage: () => 'Write your commitment before you submit: one small thing you will do.',
  display: (step, entry, who = {}) => {
    const due = step.commitment && step.commitment.due_on && step.commitment.due_on[who.userId];
    return h('div', { class: 'commitment-answer' },
      bodyDisplay(entry && entry.body),
      due ? dueLine({ due_on: due }) : null);
  },
});
