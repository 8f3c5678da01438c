// `apology`: a sincere apology in parts (server/engine/kinds/apology.py has the rules).
// The two agree who is apologising; the hurt partner speaks first; the apologising partner
// mirrors it, then writes the apology privately in parts (drafts only they see) and sends
// it: a one-way reveal to the hurt partner, who says back what they heard and answers
// freely. Blame-shifting hints are advisory: shown beside a part after typing pauses,
// announced politely, and they pause the send ONCE: "This may read as an excuse — send it
// anyway, or edit it first?" The same words sent again go without asking; the server never
// refuses a phrase. A part over its limit (the view's apology.max_length) is never cut: one
// message under it (js/limits.js), and nothing is saved or sent until it fits.
import { h, replaceChildren, paragraphs, announce } from '../dom.js';
import { registerKind } from './registry.js';
import { hintsFor } from './apology-hints.js';
import { watchLimit, limitFrom } from '../limits.js';

const DRAFT_DEBOUNCE_MS = 800;
const HINT_DEBOUNCE_MS = 700;

// Each field: its label and one line of guidance (written for Mend).
const FIELDS = {
  felt: ['How it felt', 'Name the feeling: hurt, scared, alone, embarrassed…'],
  why: ['Why it hurt', 'What it touched in you, or what it meant to you.'],
  need: ['What you need', "Something that would help, now or from here on. It's fine not to know yet."],
  mirror: ['What I heard', 'Say back what your partner told you, in your own words, without adding your side.'],
  act: ['What I did', "Name the specific thing, plainly: \"I …\"."],
  impact: ['How it affected you', 'Show that you understand what it did to your partner.'],
  responsibility: ['It was mine', "Own it, without a \"but\" or an \"if\"."],
  regret: ['What I regret', "Say you're sorry, and what for."],
  change: ["What I'll do differently", "One concrete thing. It's kept as your commitment, where you both can see it."],
  setup: ['What set me up (optional)', 'If it helps your partner understand: what was going on for you. An explanation, not an excuse.'],
  reflect: ['What I heard', 'Say back what you heard in the apology, in your own words.'],
  more: ['I need more of …', 'What would help you most from here.'],
};
const HURT_PARTS = ['felt', 'why', 'need'];
const APOLOGY_PARTS = ['act', 'impact', 'responsibility', 'regret', 'change', 'setup'];
const REQUIRED = new Set(['felt', 'mirror', 'act', 'impact', 'responsibility', 'regret', 'change', 'reflect', 'more']);
const CHOICES = [
  ['accept', 'Thank you, I accept'],
  ['more_time', 'I need more time'],
  ['more_of', 'I need more of …'],
];
const CHOICE_TEXT = Object.fromEntries(CHOICES);

function nameFor(ctx, userId) {
  return userId === ctx.me.user_id ? 'You' : ctx.nameOf(userId);
}

/** Read-only: what one person said in a move, part by part. */
function saidBlock(testid, title, keys, said) {
  return h('section', { class: 'apology-said', testid },
    h('h3', { class: 'apology-said-title' }, title),
    keys.filter((key) => said[key]).map((key) => h('div', { class: 'apology-said-part', dataset: { part: key } },
      h('p', { class: 'apology-part-label' }, FIELDS[key][0]),
      paragraphs(said[key], 'apology-part-text'))));
}

function transcript(ctx, ap) {
  const roles = ap.roles;
  const hurtName = nameFor(ctx, roles.hurt);
  const apologiserName = nameFor(ctx, roles.apologising);
  const out = [];
  if (ap.hurt) out.push(saidBlock('apology-said-hurt', `${hurtName}: how it was`, HURT_PARTS, ap.hurt));
  if (ap.mirror) {
    out.push(h('section', { class: 'apology-said', testid: 'apology-said-mirror' },
      h('h3', { class: 'apology-said-title' }, `${apologiserName}: what I heard`),
      paragraphs(ap.mirror.body, 'apology-part-text')));
  }
  if (ap.apology) {
    out.push(saidBlock('apology-said-apology', `${apologiserName}: the apology`, APOLOGY_PARTS, ap.apology));
  } else if (ap.apology_sent) {
    out.push(h('p', { class: 'muted', testid: 'apology-sent-private' },
      `${apologiserName} has sent the apology to ${hurtName}; it is theirs to read.`));
  }
  if (ap.reflect) {
    out.push(h('section', { class: 'apology-said', testid: 'apology-said-reflect' },
      h('h3', { class: 'apology-said-title' }, `${hurtName}: what I heard`),
      paragraphs(ap.reflect.body, 'apology-part-text')));
  }
  if (ap.response) {
    out.push(h('section', { class: 'apology-said apology-response', testid: 'apology-said-response' },
      h('h3', { class: 'apology-said-title' }, `${hurtName}: my answer`),
      h('p', { class: 'apology-choice-said' }, CHOICE_TEXT[ap.response.choice] || ap.response.choice),
      ap.response.more ? paragraphs(ap.response.more, 'apology-part-text') : null));
  }
  return out;
}

class ApologyView {
  constructor(step, ctx) {
    this.ctx = ctx;
    this.step = step;
    this.editors = new Map(); // field -> {wrap, input, hintsEl, hintIds}
    this.draftTimer = null;
    this.hintTimers = new Map();
    this.saveState = null; // null | 'saving' | 'saved' | 'error'
    this.pending = null; // the move being sent
    this.error = null;
    this.choice = null;
    this.confirm = null; // {name, found: [{key, id, phrase}], go}: the one pause for hints
    this.askedFor = null; // the words last asked about: sent again as they are, no question
    this.signature = null;
    this.draftSeeded = false;
    this.el = h('section', { class: 'apology', testid: 'apology' });
    this.render();
  }

  get ap() {
    return this.step.apology || { phase: 'roles', roles: null, offer: null };
  }

  update(step) {
    this.step = step;
    // Once answered, the ready block (drawn by the session screen) changes on its own.
    this.render(this.ap.phase === 'done' || Boolean(this.ap.declined));
  }

  destroy() {
    clearTimeout(this.draftTimer);
    for (const timer of this.hintTimers.values()) clearTimeout(timer);
  }

  // ---- editors that survive re-renders ----------------------------------------------

  editor(key) {
    let editor = this.editors.get(key);
    if (editor) return editor;
    const id = `apology-${this.step.id}-${key}`;
    const draft = (this.step.mine && this.step.mine.draft && this.step.mine.draft.fields) || {};
    // The server's number, from the view; the settings' and 2,000 only for an older view.
    const max = limitFrom(this.ap.max_length, limitFrom(this.step.settings && this.step.settings.max_length, 2000));
    const input = h('textarea', {
      id, rows: key === 'more' ? 2 : 3, testid: `apology-field-${key}`,
      'aria-describedby': `${id}-guide ${id}-hints`,
    });
    input.value = draft[key] || '';
    // Registered before `changed`, so a draft save sees this keystroke's limit state.
    const limit = watchLimit(input, max, { count: 'near', testid: `apology-limit-${key}` });
    input.addEventListener('input', () => this.changed(key));
    const hintsEl = h('div', { id: `${id}-hints`, class: 'apology-hints', 'aria-live': 'polite', testid: `apology-hints-${key}` });
    const [label, guide] = FIELDS[key];
    const wrap = h('div', { class: 'apology-field', dataset: { part: key } },
      h('label', { for: id, class: 'apology-part-label' }, label),
      h('p', { id: `${id}-guide`, class: 'apology-guide' }, guide),
      input, limit.el, hintsEl);
    editor = { wrap, input, hintsEl, hintIds: '', limit };
    this.editors.set(key, editor);
    this.showHints(key);
    return editor;
  }

  changed(key) {
    clearTimeout(this.draftTimer);
    this.draftTimer = setTimeout(() => this.saveDraft(), DRAFT_DEBOUNCE_MS);
    // New words: the question about the old ones no longer applies.
    if (this.confirm) {
      this.confirm = null;
      this.render(true);
    }
    // Hints wait for a pause in typing: nothing is announced on every keystroke.
    clearTimeout(this.hintTimers.get(key));
    this.hintTimers.set(key, setTimeout(() => this.showHints(key), HINT_DEBOUNCE_MS));
    if (this.saveState !== 'saving') this.setSaveState(null);
  }

  showHints(key) {
    const editor = this.editors.get(key);
    if (!editor || (!APOLOGY_PARTS.includes(key) && key !== 'mirror')) return;
    const found = hintsFor(this.step.settings && this.step.settings.hints, key, editor.input.value);
    const ids = found.map((hint) => hint.id).join(' ');
    if (ids === editor.hintIds) return; // unchanged: say nothing new
    editor.hintIds = ids;
    replaceChildren(editor.hintsEl, found.length
      ? h('ul', { class: 'apology-hint-list' }, found.map((hint) => h('li', { class: 'apology-hint', testid: `apology-hint-${hint.id}` },
        h('span', { class: 'apology-hint-label' }, `A gentle check on “${hint.phrase}”: `), hint.message)))
      : null);
  }

  myWritableKeys() {
    const ap = this.ap;
    const role = ap.my_role;
    if (!role) return [];
    const keys = role === 'hurt' ? [...HURT_PARTS, 'reflect', 'more'] : ['mirror', ...APOLOGY_PARTS];
    const sent = new Set([
      ...(ap.hurt ? HURT_PARTS : []), ...(ap.mirror ? ['mirror'] : []),
      ...(ap.apology_sent ? APOLOGY_PARTS : []), ...(ap.reflect ? ['reflect'] : []),
      ...(ap.response ? ['more'] : []),
    ]);
    return keys.filter((key) => !sent.has(key));
  }

  /** The first part on screen that is over its limit, or null. */
  overLimit(keys = [...this.editors.keys()]) {
    return keys.map((key) => this.editors.get(key)).find((editor) => editor && editor.limit.problem()) || null;
  }

  async saveDraft() {
    // Over the limit the server would refuse the whole draft (too_large): send nothing, and
    // say nothing here (the message under the part says it can't be saved).
    if (this.overLimit()) {
      this.setSaveState(null);
      return;
    }
    // A save replaces the whole draft: keep drafted parts that have no field on screen now.
    const drafted = (this.step.mine && this.step.mine.draft && this.step.mine.draft.fields) || {};
    const fields = {};
    for (const key of this.myWritableKeys()) {
      const editor = this.editors.get(key);
      const value = editor ? editor.input.value : drafted[key];
      if (value) fields[key] = value;
    }
    this.setSaveState('saving');
    const result = await this.ctx.saveDraft(null, fields);
    this.setSaveState(result.ok ? 'saved' : 'error');
  }

  setSaveState(stateName) {
    this.saveState = stateName;
    const el = this.el.querySelector('[data-testid="apology-save-status"]');
    if (el) el.textContent = this.saveText();
  }

  saveText() {
    return { saving: 'Saving…', saved: 'Saved. Only you can see this until you send it.', error: "Couldn't save; your words are still here." }[this.saveState] || '';
  }

  // ---- moves -----------------------------------------------------------------------

  async send(name, { body = null, fields = null } = {}, keys = []) {
    if (this.pending) return;
    this.pending = name;
    this.error = null;
    this.confirm = null;
    clearTimeout(this.draftTimer);
    this.render(true);
    const result = await this.ctx.turn(name, { body, fields });
    this.pending = null;
    if (result.ok) {
      for (const key of keys) {
        const editor = this.editors.get(key);
        if (editor) { editor.wrap.remove(); this.editors.delete(key); }
      }
      this.ctx.announce({
        offer: 'Your offer is sent.', accept: "You've agreed. Let's begin.", withdraw: 'Offer withdrawn.', decline: 'You said not now.',
        hurt: 'Shared.', mirror: 'Sent.', apology: 'Your apology is sent.', reflect: 'Sent.', response: 'Your answer is sent.',
      }[name] || 'Sent.');
    } else {
      this.error = result.error.message;
    }
    this.render(true);
    if (!result.ok) this.el.querySelector('[data-testid="apology-error"]')?.focus();
  }

  /** A part over its limit: the keyboard goes there (its one message is read again). */
  stopForLimit(keys) {
    const over = this.overLimit(keys);
    if (!over) return false;
    if (this.error) {
      this.error = null;
      this.render(true);
    }
    over.limit.focus();
    return true;
  }

  /**
   * Hints pause the send once: true (and the question shown) when the words about to go
   * carry a flagged phrase and haven't been asked about yet. The same words sent again go.
   */
  askFirst(name, keys, go) {
    const hints = this.step.settings && this.step.settings.hints;
    const found = keys.filter((key) => APOLOGY_PARTS.includes(key) || key === 'mirror')
      .flatMap((key) => hintsFor(hints, key, this.editors.get(key).input.value).map((hint) => ({ key, ...hint })));
    const words = JSON.stringify([name, keys.map((key) => this.editors.get(key).input.value)]);
    if (!found.length || words === this.askedFor) return false;
    this.askedFor = words;
    this.error = null;
    this.confirm = { name, found, go };
    this.render(true);
    this.el.querySelector('[data-testid="apology-confirm-question"]')?.focus();
    return true;
  }

  confirmSend() {
    const confirm = this.confirm;
    if (!confirm) return;
    this.confirm = null;
    confirm.go();
  }

  confirmEdit() {
    const confirm = this.confirm;
    if (!confirm) return;
    this.confirm = null;
    this.render(true);
    const editor = this.editors.get(confirm.found[0].key);
    if (editor) editor.input.focus();
    announce('Edit your words, then send them when you are ready.');
  }

  confirmBlock() {
    const confirm = this.confirm;
    const qid = `apology-confirm-${this.step.id}`;
    const where = [...new Map(confirm.found.map((hint) => [`${hint.key}:${hint.phrase}`, hint])).values()];
    const block = h('div', {
      class: 'skip-confirm apology-confirm', role: 'group', 'aria-labelledby': qid, testid: 'apology-confirm',
      onkeydown: (event) => {
        if (event.key === 'Escape') {
          event.preventDefault();
          this.confirmEdit();
        }
      },
    },
    h('p', { id: qid, class: 'skip-question apology-confirm-question', tabIndex: -1, testid: 'apology-confirm-question' },
      'This may read as an excuse — send it anyway, or edit it first?'),
    h('ul', { class: 'apology-confirm-list' }, where.map((hint) => h('li', null,
      `“${hint.phrase}” in ${FIELDS[hint.key][0]}`))),
    h('div', { class: 'skip-confirm-actions apology-confirm-actions' },
      h('button', { type: 'button', class: 'secondary', testid: 'apology-confirm-edit', onclick: () => this.confirmEdit() }, 'Edit'),
      h('button', { type: 'button', class: 'primary', testid: 'apology-confirm-send', onclick: () => this.confirmSend() }, 'Send anyway')));
    return block;
  }

  sendParts(name, keys) {
    if (this.stopForLimit(keys)) return;
    const fields = {};
    const missing = [];
    for (const key of keys) {
      const value = this.editors.get(key).input.value;
      if (value.trim()) fields[key] = value;
      else if (REQUIRED.has(key)) missing.push(FIELDS[key][0]);
    }
    if (missing.length) {
      this.error = `Write something for: ${missing.join(', ')}.`;
      this.render(true);
      this.el.querySelector('[data-testid="apology-error"]')?.focus();
      return;
    }
    if (this.askFirst(name, keys, () => this.send(name, { fields }, keys))) return;
    this.send(name, { fields }, keys);
  }

  sendText(name) {
    if (this.stopForLimit([name])) return;
    const value = this.editors.get(name).input.value;
    if (!value.trim()) {
      this.error = 'Write something before you send it.';
      this.render(true);
      this.el.querySelector('[data-testid="apology-error"]')?.focus();
      return;
    }
    if (this.askFirst(name, [name], () => this.send(name, { body: value }, [name]))) return;
    this.send(name, { body: value }, [name]);
  }

  sendResponse() {
    if (!this.choice) {
      this.error = 'Choose one of the three answers.';
      this.render(true);
      this.el.querySelector('[data-testid="apology-error"]')?.focus();
      return;
    }
    const fields = { choice: this.choice };
    if (this.choice === 'more_of') {
      if (this.stopForLimit(['more'])) return;
      const more = this.editor('more').input.value;
      if (!more.trim()) {
        this.error = 'Say what you need more of, or choose another answer.';
        this.render(true);
        this.el.querySelector('[data-testid="apology-error"]')?.focus();
        return;
      }
      fields.more = more;
    }
    this.send('response', { fields }, ['more']);
  }

  // ---- drawing -----------------------------------------------------------------------

  button(label, testid, onclick, cls = 'primary') {
    // During a break moves wait (the server would answer `paused`); drafts keep saving.
    const paused = Boolean(this.ctx.paused);
    return h('button', {
      type: 'button', class: paused ? `${cls} is-disabled` : cls, testid, disabled: Boolean(this.pending),
      'aria-disabled': paused ? 'true' : null, onclick: paused ? null : onclick,
    }, label);
  }

  pausedNote() {
    return this.ctx.paused
      ? h('p', { class: 'submit-blocked', testid: 'apology-paused' }, "On a break. You can send this when you're both back; your words are kept.")
      : null;
  }

  render(force = false) {
    const step = this.step;
    const ctx = this.ctx;
    const signature = JSON.stringify([step, Boolean(ctx.paused), ctx.state.participants.map((p) => [p.display_name, p.online])]);
    if (!force && signature === this.signature) return;
    this.signature = signature;
    // Keep the writer's place: the same textarea is put back and refocused.
    const active = this.el.contains(document.activeElement) ? document.activeElement : null;
    const selection = active && 'selectionStart' in active ? [active.selectionStart, active.selectionEnd] : null;
    const focusId = active && !active.id && active.dataset ? active.dataset.testid : null;

    const ap = this.ap;
    const done = step.status === 'done';
    replaceChildren(this.el,
      ctx.heading(),
      step.prompt ? h('p', { class: 'prompt' }, step.prompt) : null,
      step.hint && !done ? h('p', { class: 'hint' }, step.hint) : null,
      ap.roles ? h('div', { class: 'apology-transcript' }, transcript(ctx, ap)) : null,
      done ? null : this.current(ap),
      this.error ? h('p', { class: 'field-error', role: 'alert', tabIndex: -1, testid: 'apology-error' }, this.error) : null,
      ap.phase === 'done' && !done ? ctx.readyBlock() : null);

    if (active && active.id && document.getElementById(active.id)) {
      active.focus();
      if (selection) active.setSelectionRange(selection[0], selection[1]);
    } else if (focusId) {
      this.el.querySelector(`[data-testid="${focusId}"]`)?.focus();
    }
  }

  waiting(text) {
    return h('p', { class: 'apology-waiting muted', role: 'status', testid: 'apology-waiting' }, text);
  }

  current(ap) {
    const ctx = this.ctx;
    const isPartner = ctx.me.role === 'partner';
    const partner = ctx.partner;
    const partnerName = partner ? partner.display_name : 'Your partner';
    if (ap.phase === 'roles') return this.rolesBlock(ap, isPartner, partnerName);
    const role = ap.my_role;
    const writing = this.step.partner_status === 'writing';
    const hurtName = ctx.nameOf(ap.roles.hurt);
    const apologiserName = ctx.nameOf(ap.roles.apologising);
    if (ap.phase === 'hurt') {
      if (role === 'hurt') {
        return this.form('hurt', 'You go first: how it was for you',
          'Your partner will read this as soon as you share it.', HURT_PARTS, 'Share this', () => this.sendParts('hurt', HURT_PARTS));
      }
      return this.waiting(`${hurtName} is ${writing ? 'writing' : 'about to write'} how it was for them. Take a breath; you'll read it here.`);
    }
    if (ap.phase === 'mirror') {
      if (role === 'apologising') {
        return this.form('mirror', 'Say back what you heard',
          'Before you apologise, show that you heard. No defending yet.', ['mirror'], 'Send', () => this.sendText('mirror'));
      }
      return this.waiting(`${apologiserName} is saying back what they heard.`);
    }
    if (ap.phase === 'apology') {
      if (role === 'apologising') {
        return this.form('apology', 'Your apology, in parts',
          `Only you can see this while you write. ${hurtName} reads it when you send it, all at once.`,
          APOLOGY_PARTS, 'Send my apology', () => this.sendParts('apology', APOLOGY_PARTS));
      }
      return this.waiting(`${apologiserName} is ${writing ? 'writing' : 'getting ready to write'} their apology. You'll read it when they send it.`);
    }
    if (ap.phase === 'reflect') {
      if (role === 'hurt') {
        return this.form('reflect', 'Say back what you heard',
          'In your own words. Then you choose how to answer, freely.', ['reflect'], 'Send', () => this.sendText('reflect'));
      }
      return this.waiting(`${hurtName} is reading your apology and saying back what they heard.`);
    }
    if (ap.phase === 'respond') {
      if (role === 'hurt') return this.responseBlock();
      return this.waiting(`${hurtName} is choosing how to answer. Any answer is all right.`);
    }
    return null;
  }

  rolesBlock(ap, isPartner, partnerName) {
    const me = this.ctx.me.user_id;
    const block = h('div', { class: 'apology-roles', testid: 'apology-roles' });
    if (!isPartner) {
      block.append(this.waiting('The partners are deciding who is apologising.'));
      return block;
    }
    if (!ap.offer) {
      block.append(
        h('p', null, 'First, agree on who is apologising. The one who was hurt speaks first.'),
        h('div', { class: 'apology-role-buttons' },
          this.button("I'd like to apologise", 'apology-offer-apologising',
            () => this.send('offer', { fields: { role: 'apologising' } }), 'secondary'),
          this.button('I was hurt and want to be heard', 'apology-offer-hurt',
            () => this.send('offer', { fields: { role: 'hurt' } }), 'secondary')));
    } else if (ap.offer.by === me) {
      block.append(
        this.waiting(ap.offer.role === 'apologising'
          ? `You offered to apologise. Waiting for ${partnerName} to say yes.`
          : `You said you were hurt and want to be heard. Waiting for ${partnerName} to say yes.`),
        this.button('Take back my offer', 'apology-withdraw', () => this.send('withdraw'), 'secondary'));
    } else {
      block.append(
        h('p', { testid: 'apology-offer' }, ap.offer.role === 'apologising'
          ? `${partnerName} would like to apologise to you. You'll speak first: how it was for you.`
          : `${partnerName} says they were hurt and would like to be heard first, then to hear an apology from you.`),
        h('div', { class: 'apology-role-buttons' },
          this.button('Yes, let’s begin', 'apology-accept', () => this.send('accept'), 'secondary'),
          this.button('Not now', 'apology-decline', () => this.send('decline'), 'secondary')));
    }
    if (ap.declined && !ap.offer) {
      const who = ap.declined.by === me ? 'You' : partnerName;
      block.prepend(h('p', { class: 'apology-declined', testid: 'apology-declined' },
        `${who} said not now, and that's a full answer. You can offer again later, or both move on.`));
      block.append(this.ctx.readyBlock());
    }
    return block;
  }

  form(name, title, note, keys, label, onSend) {
    const form = h('div', { class: 'apology-form', testid: `apology-form-${name}` },
      h('h3', { class: 'apology-form-title' }, title),
      h('p', { class: 'muted small' }, note),
      keys.map((key) => this.editor(key).wrap),
      h('p', { class: 'save-status small muted', role: 'status', testid: 'apology-save-status' }, this.saveText()),
      this.pausedNote(),
      this.confirm && this.confirm.name === name ? this.confirmBlock() : null,
      this.button(this.pending === name ? 'Sending…' : label, `apology-send-${name}`, onSend));
    return form;
  }

  responseBlock() {
    const name = `apology-choice-${this.step.id}`;
    const fieldset = h('fieldset', { class: 'apology-choices', testid: 'apology-choices' },
      h('legend', null, 'How would you like to answer?'),
      h('p', { class: 'muted small' }, "Every answer is a full answer. Nobody has to forgive today."),
      h('div', { class: 'apology-choice-row' }, CHOICES.map(([value, label]) => h('label', { class: 'apology-choice' },
        h('input', {
          type: 'radio', name, value, checked: this.choice === value, testid: `apology-choice-${value}`,
          onchange: () => { this.choice = value; this.error = null; this.render(true); },
        }),
        h('span', null, label)))),
      this.choice === 'more_of' ? this.editor('more').wrap : null);
    return h('div', { class: 'apology-form', testid: 'apology-form-response' }, fieldset, this.pausedNote(),
      this.button(this.pending === 'response' ? 'Sending…' : 'Send my answer', 'apology-send-response', () => this.sendResponse()));
  }
}

function summaryBlock(step, { me, nameOf: partnerName }) {
  const ap = step.apology;
  if (!ap || !ap.roles) return null;
  const nameOf = (uid) => (uid === me ? 'You' : partnerName(uid));
  const ctx = { me: { user_id: me }, nameOf };
  return h('div', { class: 'apology-summary', testid: 'summary-apology' },
    h('p', { class: 'muted small' }, `${nameOf(ap.roles.apologising)} apologised; ${nameOf(ap.roles.hurt)} was heard first.`),
    transcript(ctx, ap),
    ap.response ? null : h('p', { class: 'muted' }, 'No answer was given.'));
}

export default registerKind({
  name: 'apology',
  takesAnswer: false,
  mount: (step, ctx) => new ApologyView(step, ctx),
  body: () => [],
  summary: summaryBlock,
});
