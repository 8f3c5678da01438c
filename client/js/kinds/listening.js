// `listening`: speaker and listener take turns (mirroring). The server holds the rules
// (server/engine/kinds/listening.py): who holds the floor, which move is due, the soft
// timer. This view draws that state: who speaks, what to do now, sentence starters, the
// shared conversation so far, and, for the partner without the floor, a plain "It's Ben's
// turn to speak" where their input would be.
//
// The words being written are a private draft (saved to the server, shown to their author
// only); a sent move is seen by both at once. The box never cuts words: over the step's
// `max_chars` one line says so (js/limits.js), the words stay, and nothing is sent or saved
// until they fit. The clock is drawn for the partner whose move it is, and only for them.
//
// After "Partly" or "Not yet" the speaker chooses: say it another way, ask the listener to
// say it back again, or come back to this another time; "You've both spoken and been heard"
// is said only when both were. Repair after a betrayal (`first_speaker: hurt`) opens with
// agreeing who was hurt; the hurt partner may stop the second round ("one round is enough
// for today") and leave validating out. `mode: questions` is the hurt partner's questions.

import { h, append, replaceChildren, paragraphs } from '../dom.js';
import { watchLimit, limitFrom, formatCount } from '../limits.js';
import { registerKind } from './registry.js';

const DRAFT_DELAY_MS = 800;
const CLOCK_MS = 15000; // the timer's text refreshes quietly; it never announces each tick

// What each spoken move is called in the conversation.
const DID = {
  share: 'shared', mirror: 'said back', confirm: 'confirmed', correct: 'added',
  validate: 'validated', empathise: 'imagined', heard: 'felt heard',
  ask: 'asked', answer: 'answered',
};
const HELD_ANSWER = 'Answered. Your counsellor will share the answer with you when it’s a good time.';
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
    again: `You didn't feel fully heard yet. What would help now?`,
    ask: `Ask ${other} one question you need answered. When you've asked enough for today, say so.`,
    answer: `Answer ${other}'s question honestly, in your own words. A true answer helps more than a kind one that isn't.`,
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
    again: `${holder} didn't feel fully heard yet, and is choosing what to do next.`,
    ask: `It's ${holder}'s turn to ask a question, or to say that's enough for today.`,
    answer: `It's ${holder}'s turn to answer.`,
  }[move] || `It's ${holder}'s turn.`;
}

/** A turn's words as shown: "Partly" for a heard, a held answer's sentence, or the text. */
function words(turn) {
  if (turn.kind === 'heard') return h('span', { class: 'listening-words' }, HEARD[turn.fields && turn.fields.heard] || '');
  if (turn.fields && turn.fields.held) return h('span', { class: 'listening-words muted', testid: 'listening-held' }, HELD_ANSWER);
  return turn.body ? h('span', { class: 'listening-words' }, turn.body) : null;
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
    // The server's limit from the view; never a maxlength (it would cut a paste silently).
    const l = step.listening || {};
    this.limit = watchLimit(this.textarea,
      limitFrom(l.max_chars, limitFrom(step.settings && step.settings.max_chars, 600)),
      { count: 'near', testid: 'listening-limit' });
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
      l.proposal, (l.declined || []).length, l.outcome, l.held_answers,
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
        } else {
          const hurt = turn.fields && turn.fields.hurt;
          const said = {
            ready: l.mode === 'questions' ? `${who} is ready to answer.` : `${who} is ready to listen.`,
            speak_first: `${who} would like to speak first.`,
            not_yet: `${who} said not yet.`,
            propose_roles: `${who} says ${hurt === this.me ? 'you were' : 'they were'} the one hurt.`,
            agree_roles: `${who} agreed.`,
            decline_roles: `${who} sees it differently.`,
            try_again: `${who} will say it another way.`,
            reflect_again: `${who} asked you to say back again what you heard.`,
            come_back: `${who} would like to come back to this another time.`,
            enough: `${who} said that's enough for today.`,
            pass: `${who} left that part out for now.`,
          }[turn.kind];
          if (said) this.ctx.announce(said);
        }
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
    // An optional step can be left before it is done (e.g. nothing marked to talk about).
    else if (step.optional && this.ctx.readyBlock) parts.push(this.ctx.readyBlock());
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
    if (l.mode === 'questions') {
      return h('p', { class: 'listening-roles', testid: 'listening-roles' },
        'Asking: ', h('strong', null, this.name(l.speaker)),
        ' · Answering: ', h('strong', null, this.name(l.listener)));
    }
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
      words(turn))));
  }

  /** The closing line of a finished step: what happened, in so many words. */
  doneLine(l) {
    const rounds = l.rounds || [];
    const who = (id) => (id === this.me ? 'You' : this.ctx.nameOf(id));
    if (l.outcome === 'asked') {
      return `${who(l.speaker)} asked what ${l.speaker === this.me ? 'you' : 'they'} wanted to ask for today. Questions can come back another day.`;
    }
    if (l.outcome === 'enough') {
      const hurt = (l.roles && l.roles.hurt) || (rounds[0] && rounds[0].speaker);
      return `${who(hurt)} spoke and felt heard. One round was enough for today.`;
    }
    if (l.outcome === 'later') {
      const last = rounds[rounds.length - 1] || {};
      const heardFirst = rounds.length > 1 && rounds[0].heard === 'yes'
        ? `${who(rounds[0].speaker)} felt heard. ` : '';
      const notYet = last.speaker === this.me ? "You didn't feel fully heard yet" : `${this.ctx.nameOf(last.speaker)} didn't feel fully heard yet`;
      return `${heardFirst}${notYet}, so you've agreed to come back to this another time. That's an honest place to stop.`;
    }
    return "You've both spoken and been heard.";
  }

  /** Who was hurt: agreed before anyone speaks, when the step asks for it. */
  rolesChoice(l, box, line, moves) {
    const partner = this.ctx.partner;
    const partnerId = partner ? partner.user_id : null;
    const partnerName = partner ? partner.display_name : 'your partner';
    const p = l.proposal;
    const buttons = h('div', { class: 'listening-actions' });
    if (!p) {
      line.textContent = 'First, agree which of you was hurt. That partner speaks first.';
    } else if (p.by === this.me) {
      line.textContent = p.hurt === this.me
        ? `You said you were the one hurt. Waiting for ${partnerName} to agree.`
        : `You said ${partnerName} was the one hurt. Waiting for ${partnerName} to agree.`;
    } else {
      line.textContent = p.hurt === this.me
        ? `${partnerName} says you were the one hurt, so you would speak first. Is that right?`
        : `${partnerName} says they were the one hurt, so they would speak first. Is that right?`;
    }
    const declined = l.declined || [];
    if (declined.length && !p) {
      const last = declined[declined.length - 1];
      box.append(h('p', { class: 'listening-not-yet', testid: 'listening-roles-declined' },
        `${last.user_id === this.me ? 'You' : this.ctx.nameOf(last.user_id)} saw it differently. `,
        'That is worth talking through, perhaps with a counsellor. You can take a break, or suggest again.'));
    }
    if (moves.includes('agree_roles')) {
      buttons.append(this.button('agree_roles', "Yes, that's right", 'primary'),
        this.button('decline_roles', 'I see it differently', 'secondary'));
    } else if (moves.includes('propose_roles')) {
      const mine = p && p.by === this.me;
      buttons.append(
        this.button('propose_roles', 'I was the one hurt', mine ? 'secondary' : 'primary', { hurt: this.me }, 'listening-i-was-hurt'),
        partnerId ? this.button('propose_roles', `${partnerName} was the one hurt`, 'secondary', { hurt: partnerId }, 'listening-partner-was-hurt') : null);
    }
    if (moves.includes('not_yet')) buttons.append(this.button('not_yet', 'Not yet', 'secondary'));
    box.append(buttons);
  }

  /** "One round is enough for today": the hurt partner's way on, always in reach. */
  stopButton(l, moves) {
    if (!moves.includes('enough')) return null;
    const label = l.mode === 'questions' ? "That's enough for today" : 'One round is enough for today';
    return h('div', { class: 'listening-actions listening-stop' },
      this.button('enough', label, 'secondary'));
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
    const questions = l.mode === 'questions';
    if (l.phase === 'done') {
      line.textContent = this.doneLine(l);
      return box;
    }
    if (l.phase === 'opening') {
      if (!l.speaker && l.expect === 'roles') {
        this.rolesChoice(l, box, line, moves);
        append(box, [this.errorLine()]);
        return box;
      }
      if (!l.speaker) {
        line.textContent = 'Who would like to speak first? The other listens, then you swap.';
      } else if (questions && l.listener === this.me) {
        line.textContent = `${this.ctx.nameOf(l.speaker)} has questions for you. Are you ready to answer them honestly?`;
      } else if (questions && l.speaker === this.me) {
        line.textContent = `You'll ask once ${partnerName} says they're ready to answer.`;
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
        buttons.append(this.button('ready', questions ? "Yes, I'm ready to answer" : "Yes, I'm ready to listen", 'primary'));
      }
      if (moves.includes('not_yet')) buttons.append(this.button('not_yet', 'Not yet', 'secondary'));
      box.append(buttons);
      append(box, [this.stopButton(l, moves), this.errorLine()]);
      return box;
    }
    // Speaking: the floor holder writes; the other reads where they'd write.
    const mine = l.floor === this.me;
    const holder = this.ctx.nameOf(l.floor);
    const other = this.ctx.nameOf(l.floor === l.speaker ? l.listener : l.speaker);
    if (!mine) {
      line.textContent = waitLine(l.expect, holder);
      if (this.ctx.isAway(l.floor)) {
        box.append(h('p', { class: 'muted' }, `${holder} is away right now; their turn waits for them.`));
      }
      if (this.ctx.me.role === 'partner' && l.expect !== 'again') {
        // The input stays in place but closed, with the reason spelled out beside it.
        box.append(this.inputBlock(l, null, true));
      }
      append(box, [this.stopButton(l, moves), this.errorLine()]);
      return box;
    }
    // The clock is this person's own: nobody else sees a countdown on their words.
    box.append(h('p', { class: 'listening-timer', testid: 'listening-timer' }));
    line.textContent = askFor(l.expect, other);
    if (l.expect === 'heard') {
      const buttons = h('div', { class: 'listening-actions', role: 'group', 'aria-label': 'Did you feel heard?' });
      for (const [value, label] of [['yes', 'Yes, I felt heard'], ['partly', 'Partly'], ['not_yet', 'Not yet']]) {
        buttons.append(this.button('heard', label, value === 'yes' ? 'primary' : 'secondary', { heard: value }, `heard-${value}`));
      }
      box.append(buttons);
    } else if (l.expect === 'again') {
      const buttons = h('div', { class: 'listening-actions listening-again', role: 'group', 'aria-label': 'What would help now?' });
      if (moves.includes('try_again')) buttons.append(this.button('try_again', "I'll say it another way", 'primary'));
      if (moves.includes('reflect_again')) buttons.append(this.button('reflect_again', `Ask ${other} to say it back again`, 'secondary'));
      buttons.append(this.button('come_back', "Let's come back to this another time", 'secondary'));
      box.append(buttons);
      if (!moves.includes('try_again')) {
        box.append(h('p', { class: 'muted small' }, "You've tried a few times today. Coming back to it another day is often what helps."));
      }
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
      if (moves.includes('pass')) {
        box.append(h('div', { class: 'listening-actions' },
          this.button('pass', 'Leave this out for now', 'link-button')),
        h('p', { class: 'muted small' }, "You don't have to do this part. Saying back what you heard is enough."));
      }
    }
    if (moves.includes('extend')) {
      box.append(h('div', { class: 'listening-actions' },
        this.button('extend', 'I need more time', 'link-button')));
    }
    append(box, [this.stopButton(l, moves), this.errorLine()]);
    return box;
  }

  inputBlock(l, move, closed) {
    const starters = (this.step.settings && this.step.settings.starters) || {};
    const list = closed ? [] : (starters[move] || []);
    const labelId = `${this.textarea.id}-label`;
    const noteId = `${this.textarea.id}-note`;
    this.textarea.disabled = closed || this.pending;
    this.textarea.setAttribute('aria-labelledby', labelId);
    this.textarea.setAttribute('aria-describedby', this.limit.id ? `${noteId} ${this.limit.id}` : noteId);
    const label = closed ? 'Your words' : {
      share: 'What you want to say', mirror: 'What you heard', correct: 'Your correction or addition',
      validate: 'What makes sense', empathise: 'What you imagine they feel',
      ask: 'Your question', answer: 'Your answer',
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
      closed ? null : this.limit.el,
      h('p', { id: noteId, class: closed ? 'listening-closed' : 'muted small', testid: closed ? 'listening-closed' : 'listening-note' },
        closed
          ? `It's ${this.ctx.nameOf(l.floor)}'s turn${l.expect === 'share' ? ' to speak' : ''}. You can write here when it's yours.`
          : `${l.mode === 'questions' ? 'A few sentences' : 'About three sentences'} (at most ${formatCount(l.max_chars)} characters). Only you see this until you send it.`));
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
    if (this.error) {
      this.error = null; // new words: the last refusal no longer applies
      this.update(this.step);
    }
    // Over the limit the words stay here, unsaved: the server would refuse them whole.
    if (this.limit.problem()) return;
    this.draftTimer = setTimeout(() => {
      this.ctx.saveDraft(this.textarea.value, null);
    }, DRAFT_DELAY_MS);
  }

  async send(name) {
    if (this.limit.problem()) {
      // The one message under the box already says why; the keyboard goes where the fix is.
      this.limit.focus();
      return;
    }
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
    const ending = {
      later: 'You agreed to come back to this another time.',
      enough: 'One round was enough for that day.',
      asked: 'Questions can come back another day.',
    }[step.outcome];
    return h('div', { testid: 'summary-listening' },
      h('ol', { class: 'listening-turns' },
        (step.turns || []).map((turn) => h('li', {
          class: turn.user_id === me ? 'listening-turn mine' : 'listening-turn theirs', 'data-kind': turn.kind,
        },
        h('span', { class: 'listening-who' }, `${who(turn)} ${DID[turn.kind]}`),
        words(turn)))),
      ending ? h('p', { class: 'muted', testid: 'summary-listening-outcome' }, ending) : null);
  },
});
