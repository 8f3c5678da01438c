// `listening`: speaker and listener take turns (mirroring). The server holds the rules
// (server/engine/kinds/listening.py): who holds the floor, which move is due, the soft
// timer. This view draws that state: who speaks, what to do now, sentence starters, the
// shared conversation so far, and, for the partner without the floor, a plain "It's Ben's
// turn to speak" where their input would be.
//
// The words being written are a private draft (saved to the server, shown to their author
// only); a sent move is seen by both at once.

import { h, append, replaceChildren, paragraphs } from '../dom.js';
import { registerKind } from './registry.js';

const DRAFT_DELAY_MS = 800;
const CLOCK_MS = 15000; // the timer's text refreshes quietly; it never announces each tick

// What each spoken move is called in the conversation.
const DID = {
  share: 'shared', mirror: 'said back', confirm: 'confirmed', correct: 'added',
  validate: 'validated', empathise: 'imagined', heard: 'felt heard',
};
const HEARD = { yes: 'Yes', partly: 'Partly', not_yet: 'Not yet' };
const SPOKEN = new Set(Object.keys(DID));

/** What the floor holder is asked to do, in their own words. */
function askFor(move, other) {
  return {
    share: 'Your turn to speak. Share one short "I" statement: how you feel, when, why, and what you need.',
    mirror: `Say back what you heard ${other} say, in your own words, then ask: is there more?`,
    confirm: `Did ${other} get it? Confirm, or correct it or add what's missing.`,
    validate: `Tell ${other} what makes sense about it, from where they stand.`,
    empathise: `Say how you imagine ${other} feels.`,
    heard: 'Did you feel heard?',
  }[move];
}

/** What the partner without the floor reads where their input would be. */
function waitLine(move, holder) {
  return {
    share: `It's ${holder}'s turn to speak. Listen; you'll say back what you hear.`,
    mirror: `It's ${holder}'s turn: they're saying back what they heard.`,
    confirm: `It's ${holder}'s turn: they're checking whether you got it.`,
    validate: `It's ${holder}'s turn: they're saying what makes sense to them.`,
    empathise: `It's ${holder}'s turn: they're imagining how you feel.`,
    heard: `It's ${holder}'s turn: they're saying whether they felt heard.`,
  }[move] || `It's ${holder}'s turn.`;
}

function minutesLeft(deadline) {
  if (!deadline) return null;
  return (new Date(deadline).getTime() - Date.now()) / 60000;
}

function starterText(starter) {
  // "I feel ..." -> "I feel "
  return starter.replace(/\s*(\.\.\.|…)\s*$/, ' ').replace(/^\s+/, '');
}

class ListeningView {
  constructor(step, ctx) {
    this.ctx = ctx;
    this.step = step;
    this.pending = false;
    this.error = null;
    this.signature = null;
    this.seenTurns = null;
    this.wasOverdue = null;
    this.draftTimer = null;
    this.el = h('div', { class: 'listening', testid: 'listening' });
    // One textarea for the whole step, kept across redraws so typing is never lost.
    this.textarea = h('textarea', {
      id: `listening-input-${step.id}`, class: 'listening-input', rows: 4, testid: 'listening-input',
      oninput: () => this.onInput(),
      onkeydown: (event) => {
        // Ctrl+Enter (or Cmd+Enter) sends without leaving the keyboard.
        if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
          event.preventDefault();
          this.el.querySelector('[data-testid="listening-send"]')?.click();
        }
      },
    });
    // The speaker may name what their share is about (a "to talk about" boundary item);
    // kept across redraws like the textarea so a choice isn't lost.
    this.topicSelect = h('select', { id: `listening-topic-${step.id}`, testid: 'listening-topic' });
    const draft = step.mine && step.mine.draft;
    if (draft && draft.body) this.textarea.value = draft.body;
    this.clock = setInterval(() => this.drawTimer(), CLOCK_MS);
    this.update(step);
  }

  get me() { return this.ctx.me.user_id; }

  name(userId) {
    return userId === this.me ? 'You' : this.ctx.nameOf(userId);
  }

  update(step) {
    this.step = step;
    const l = step.listening || {};
    this.noticeChanges(l);
    const signature = JSON.stringify([step.status, l.phase, l.round, l.floor, l.expect, l.speaker,
      l.my_moves, (l.turns || []).length, (l.not_yet || []).length, l.overdue, l.deadline,
      step.ready, this.pending, this.error, this.onBreak()]);
    if (signature === this.signature) return;
    this.signature = signature;
    const focused = this.el.contains(document.activeElement)
      ? document.activeElement.getAttribute('data-testid') : null;
    this.draw();
    if (focused) {
      const again = this.el.querySelector(`[data-testid="${focused}"]`);
      if (again && !again.disabled) again.focus();
      else this.el.querySelector('[data-testid="listening-now"]')?.focus();
    }
  }

  /** Announce what the partner just did (and a turn running out), once each. */
  noticeChanges(l) {
    const turns = l.turns || [];
    if (this.seenTurns !== null) {
      for (const turn of turns.slice(this.seenTurns)) {
        if (turn.user_id === this.me) continue;
        const who = this.ctx.nameOf(turn.user_id);
        if (SPOKEN.has(turn.kind)) {
          const said = turn.kind === 'heard'
            ? `${who} felt heard: ${HEARD[turn.fields && turn.fields.heard] || ''}.`
            : `${who} ${DID[turn.kind]}${turn.body ? `: ${turn.body}` : '.'}`;
          this.ctx.announce(said);
        } else if (turn.kind === 'ready') this.ctx.announce(`${who} is ready to listen.`);
        else if (turn.kind === 'speak_first') this.ctx.announce(`${who} would like to speak first.`);
        else if (turn.kind === 'not_yet') this.ctx.announce(`${who} said not yet.`);
      }
    }
    this.seenTurns = turns.length;
    if (this.wasOverdue === false && l.overdue) {
      this.ctx.announce("Time's up for this turn. Nobody is cut off; finish your thought.");
    }
    this.wasOverdue = Boolean(l.overdue);
  }

  draw() {
    const step = this.step;
    const l = step.listening || {};
    const parts = [this.ctx.heading()];
    if (step.prompt) parts.push(h('p', { class: 'prompt' }, step.prompt));
    if (step.status === 'done') {
      parts.push(h('details', { class: 'done-details', testid: 'step-done' },
        h('summary', null, 'Read the conversation again'), this.transcript(l)));
      replaceChildren(this.el, parts);
      return;
    }
    if (step.body) parts.push(h('div', { class: 'info-body' }, paragraphs(step.body)));
    if (step.hint) parts.push(h('p', { class: 'hint' }, step.hint));
    parts.push(this.topics(l), this.roles(l), this.transcript(l), this.now(l));
    if (l.phase === 'done') parts.push(this.ctx.readyBlock());
    replaceChildren(this.el, parts);
    this.drawTimer();
  }

  /** The boundary items this couple marked to talk about, shown to both above the exercise. */
  topics(l) {
    const topics = l.topics || [];
    if (!topics.length) return null;
    return h('div', { class: 'listening-topics', testid: 'listening-topics' },
      h('p', null, 'You marked these to talk about:'),
      h('ul', null, topics.map((t) => h('li', { testid: 'listening-topic-item' },
        t.text, h('span', { class: 'muted small' }, ` (${this.name(t.author_user_id)})`)))));
  }

  topicPicker(l) {
    const topics = l.topics || [];
    if (!topics.length) return null;
    const chosen = this.topicSelect.value;
    replaceChildren(this.topicSelect, [h('option', { value: '' }, 'Something else'),
      ...topics.map((t) => h('option', { value: t.item_id }, t.text))]);
    if (topics.some((t) => t.item_id === chosen)) this.topicSelect.value = chosen;
    this.topicSelect.disabled = this.pending;
    return h('p', { class: 'listening-topic-pick' },
      h('label', { for: this.topicSelect.id }, 'This is about (optional): '), this.topicSelect);
  }

  roles(l) {
    if (!l.speaker) return null;
    const round = `Round ${l.round + 1} of 2`;
    return h('p', { class: 'listening-roles', testid: 'listening-roles' },
      `${round} · Speaking: `, h('strong', null, this.name(l.speaker)),
      ' · Listening: ', h('strong', null, this.name(l.listener)));
  }

  transcript(l) {
    const spoken = (l.turns || []).filter((t) => SPOKEN.has(t.kind));
    if (!spoken.length) return null;
    return h('ol', { class: 'listening-turns', testid: 'listening-turns', 'aria-label': 'The conversation so far' },
      spoken.map((turn) => h('li', {
        class: turn.user_id === this.me ? 'listening-turn mine' : 'listening-turn theirs',
        'data-kind': turn.kind, testid: 'listening-turn',
      },
      h('span', { class: 'listening-who' }, `${this.name(turn.user_id)} ${DID[turn.kind]}`),
      turn.kind === 'heard'
        ? h('span', { class: 'listening-words' }, HEARD[turn.fields && turn.fields.heard] || '')
        : (turn.body ? h('span', { class: 'listening-words' }, turn.body) : null))));
  }

  /** What to do now: the floor line, the timer, and this person's moves. */
  now(l) {
    const moves = l.my_moves || [];
    const box = h('div', { class: 'listening-now' });
    const line = h('p', { class: 'listening-floor', testid: 'listening-now', tabIndex: -1 });
    box.append(line);
    const partner = this.ctx.partner;
    const partnerName = partner ? partner.display_name : 'your partner';
    const notYet = (l.not_yet || []).filter((n) => n.round === l.round);
    if (l.phase === 'done') {
      line.textContent = "You've both spoken and been heard.";
      return box;
    }
    if (l.phase === 'opening') {
      if (!l.speaker) {
        line.textContent = 'Who would like to speak first? The other listens, then you swap.';
      } else if (l.listener === this.me) {
        line.textContent = `${this.ctx.nameOf(l.speaker)} would like to speak. Is now a good time for you to listen?`;
      } else if (l.speaker === this.me) {
        line.textContent = `You'll speak${l.round === 0 ? ' first' : ''} once ${partnerName} says now is a good time to listen.`;
      } else {
        line.textContent = `Waiting for ${this.ctx.nameOf(l.listener)} to be ready to listen.`;
      }
      if (notYet.length && !this.onBreak()) {
        const last = notYet[notYet.length - 1];
        box.append(h('p', { class: 'listening-not-yet', testid: 'listening-not-yet-note' },
          last.user_id === this.me ? 'You said not yet. ' : `${this.ctx.nameOf(last.user_id)} said not yet. `,
          'That is fine. You can take a break and come back to this.'),
        h('button', { type: 'button', class: 'secondary', testid: 'listening-break', onclick: () => this.takeBreak() },
          'Take a break'));
      }
      const buttons = h('div', { class: 'listening-actions' });
      if (moves.includes('speak_first')) {
        buttons.append(this.button('speak_first', "I'd like to speak first", 'primary'));
      }
      if (moves.includes('ready')) {
        buttons.append(this.button('ready', "Yes, I'm ready to listen", 'primary'));
      }
      if (moves.includes('not_yet')) buttons.append(this.button('not_yet', 'Not yet', 'secondary'));
      box.append(buttons);
      append(box, [this.errorLine()]);
      return box;
    }
    // Speaking: the floor holder writes; the other reads where they'd write.
    const mine = l.floor === this.me;
    const holder = this.ctx.nameOf(l.floor);
    const other = this.ctx.nameOf(l.floor === l.speaker ? l.listener : l.speaker);
    box.append(h('p', { class: 'listening-timer', testid: 'listening-timer' }));
    if (!mine) {
      line.textContent = waitLine(l.expect, holder);
      if (this.ctx.isAway(l.floor)) {
        box.append(h('p', { class: 'muted' }, `${holder} is away right now; their turn waits for them.`));
      }
      if (this.ctx.me.role === 'partner') {
        // The input stays in place but closed, with the reason spelled out beside it.
        box.append(this.inputBlock(l, null, true));
      }
      return box;
    }
    line.textContent = askFor(l.expect, other);
    if (l.expect === 'heard') {
      const buttons = h('div', { class: 'listening-actions', role: 'group', 'aria-label': 'Did you feel heard?' });
      for (const [value, label] of [['yes', 'Yes, I felt heard'], ['partly', 'Partly'], ['not_yet', 'Not yet']]) {
        buttons.append(this.button('heard', label, value === 'yes' ? 'primary' : 'secondary', { heard: value }, `heard-${value}`));
      }
      box.append(buttons);
    } else {
      const move = l.expect === 'confirm' ? 'correct' : l.expect;
      if (l.expect === 'confirm') {
        box.append(h('div', { class: 'listening-actions' },
          this.button('confirm', "Yes, that's it", 'primary')));
        const loopsLeft = l.max_loops - l.loops;
        box.append(h('p', { class: 'muted small' }, loopsLeft > 0
          ? `Or correct it, or add what's missing (${other} will say it back again).`
          : `Or add a last correction; ${other} will read it and move on.`));
      }
      box.append(this.inputBlock(l, move, false));
    }
    if (moves.includes('extend')) {
      box.append(h('div', { class: 'listening-actions' },
        this.button('extend', 'I need more time', 'link-button')));
    }
    append(box, [this.errorLine()]);
    return box;
  }

  inputBlock(l, move, closed) {
    const starters = (this.step.settings && this.step.settings.starters) || {};
    const list = closed ? [] : (starters[move] || []);
    const labelId = `${this.textarea.id}-label`;
    const noteId = `${this.textarea.id}-note`;
    this.textarea.maxLength = l.max_chars || 600;
    this.textarea.disabled = closed || this.pending;
    this.textarea.setAttribute('aria-labelledby', labelId);
    this.textarea.setAttribute('aria-describedby', noteId);
    const label = closed ? 'Your words' : {
      share: 'What you want to say', mirror: 'What you heard', correct: 'Your correction or addition',
      validate: 'What makes sense', empathise: 'What you imagine they feel',
    }[move];
    const block = h('div', { class: closed ? 'listening-input-block closed' : 'listening-input-block' },
      h('label', { id: labelId, for: this.textarea.id }, label),
      list.length ? h('div', { class: 'listening-starters', role: 'group', 'aria-label': 'Sentence starters' },
        h('span', { class: 'muted small' }, 'Start with: '),
        list.map((s) => h('button', {
          type: 'button', class: 'starter', testid: 'listening-starter', onclick: () => this.insert(s),
        }, s))) : null,
      !closed && move === 'share' ? this.topicPicker(l) : null,
      this.textarea,
      h('p', { id: noteId, class: closed ? 'listening-closed' : 'muted small', testid: closed ? 'listening-closed' : 'listening-note' },
        closed
          ? `It's ${this.ctx.nameOf(l.floor)}'s turn${l.expect === 'share' ? ' to speak' : ''}. You can write here when it's yours.`
          : `About three sentences (at most ${l.max_chars} characters). Only you see this until you send it.`));
    if (!closed) {
      block.append(h('div', { class: 'listening-actions' },
        h('button', {
          type: 'button', class: l.expect === 'confirm' ? 'secondary' : 'primary', testid: 'listening-send',
          disabled: this.pending, onclick: () => this.send(move),
        }, this.pending ? 'Sending…' : (l.expect === 'confirm' ? 'Send my correction' : 'Send'))));
    }
    return block;
  }

  button(name, label, cls, fields = null, testid = null) {
    return h('button', {
      type: 'button', class: cls, testid: testid || `listening-${name.replace('_', '-')}`,
      disabled: this.pending, onclick: () => this.move(name, { fields }),
    }, label);
  }

  errorLine() {
    return this.error ? h('p', { class: 'field-error', role: 'alert', testid: 'listening-error' }, this.error) : null;
  }

  insert(starter) {
    const text = starterText(starter);
    const value = this.textarea.value;
    this.textarea.value = value && !/\s$/.test(value) ? `${value} ${text}` : value + text;
    this.textarea.focus();
    this.onInput();
  }

  onInput() {
    clearTimeout(this.draftTimer);
    this.draftTimer = setTimeout(() => {
      this.ctx.saveDraft(this.textarea.value, null);
    }, DRAFT_DELAY_MS);
  }

  async send(name) {
    const body = this.textarea.value.trim();
    if (!body) {
      this.error = 'Write a few words before you send this.';
      this.update(this.step);
      this.textarea.focus();
      return;
    }
    const topic = name === 'share' && this.topicSelect.value;
    await this.move(name, { body, fields: topic ? { topic_item_id: topic } : null });
  }

  async move(name, { body = null, fields = null } = {}) {
    if (this.pending) return null;
    this.pending = true;
    this.error = null;
    // A late autosave must not bring back words the move is about to clear.
    if (SPOKEN.has(name)) clearTimeout(this.draftTimer);
    this.update(this.step);
    const result = await this.ctx.turn(name, { body, fields });
    this.pending = false;
    if (!result.ok) this.error = result.error.message;
    else if (SPOKEN.has(name)) {
      // The server emptied this person's draft with the move; so does the box.
      clearTimeout(this.draftTimer);
      this.textarea.value = '';
    }
    this.update(this.step);
    if (!result.ok) this.el.querySelector('[data-testid="listening-error"]')?.focus();
    return result;
  }

  async takeBreak() {
    const result = await this.ctx.request('session:pause', {});
    if (!result.ok) {
      this.error = result.error.message;
      this.update(this.step);
    }
  }

  onBreak() {
    const session = this.ctx.state && this.ctx.state.session;
    return Boolean(session && session.break);
  }

  drawTimer() {
    const el = this.el.querySelector('[data-testid="listening-timer"]');
    const l = this.step.listening || {};
    if (!el) return;
    const left = minutesLeft(l.deadline);
    if (l.phase !== 'speaking' || left === null) {
      el.textContent = '';
      return;
    }
    if (this.onBreak()) {
      el.textContent = "The clock waits while you're on a break.";
      el.classList.remove('overdue');
      return;
    }
    const extended = l.extensions ? ` (extended ${l.extensions === 1 ? 'once' : `${l.extensions} times`})` : '';
    if (l.overdue || left <= 0) {
      el.textContent = `Time's up for this turn${extended}. No one is cut off: finish your thought.`;
      el.classList.add('overdue');
    } else {
      const minutes = Math.max(1, Math.ceil(left));
      el.textContent = `About ${minutes} minute${minutes === 1 ? '' : 's'} left for this turn${extended}.`;
      el.classList.remove('overdue');
    }
  }

  destroy() {
    clearInterval(this.clock);
    clearTimeout(this.draftTimer);
  }
}

export default registerKind({
  name: 'listening',
  takesAnswer: false,
  mount(step, ctx) {
    const view = new ListeningView(step, ctx);
    return { el: view.el, update: (next) => view.update(next), destroy: () => view.destroy() };
  },
  summary(step, { me, nameOf }) {
    const who = (turn) => (turn.user_id === me ? 'You' : (turn.display_name || nameOf(turn.user_id)));
    return h('ol', { class: 'listening-turns', testid: 'summary-listening' },
      (step.turns || []).map((turn) => h('li', {
        class: turn.user_id === me ? 'listening-turn mine' : 'listening-turn theirs', 'data-kind': turn.kind,
      },
      h('span', { class: 'listening-who' }, `${who(turn)} ${DID[turn.kind]}`),
      turn.kind === 'heard'
        ? h('span', { class: 'listening-words' }, HEARD[turn.fields && turn.fields.heard] || '')
        : (turn.body ? h('span', { class: 'listening-words' }, turn.body) : null))));
  },
});
