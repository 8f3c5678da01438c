// `safety`: a private check, just for the person answering (server/engine/kinds/safety.py).
// With the session's check configured (content/check.yaml, the default), a track's safety
// step is answered there (js/views/check.js) and shows only as a line here; the form
// below serves hand-made content without a session check.
//
// Nothing here is ever shown to the partner, in any form: the partner's screen reads
// "Ana is doing their check" / "Ana has finished their check" whatever was answered, and
// that comes from the server's view, not from this page. After an answer that is not clear
// this page alone offers, privately: the help list (the top bar's Get help dialog, which
// sends nothing when it opens) and a neutral way out, "Let's stop here for today", which is
// an ordinary break with no reason — to the partner it reads exactly like any break.
// Choices are kept in this page until sent (no draft autosave: nothing about hesitating
// leaves the device before the answer is given).

import { h, replaceChildren, paragraphs } from '../dom.js';
import { newClientId } from '../socket.js';
import { registerKind } from './registry.js';
import { questionGroups } from '../views/check.js';

const STOP_LABEL = "Let's stop here for today";

class SafetyView {
  constructor(step, ctx) {
    this.ctx = ctx;
    this.step = step;
    this.choices = {};
    this.pending = false;
    this.error = null;
    this.clientId = newClientId();
    this.el = h('div', { class: 'safety', testid: 'safety' });
    const draft = step.mine && step.mine.draft;
    if (draft && draft.fields && draft.fields.answers) Object.assign(this.choices, draft.fields.answers);
    this.update(step);
  }

  questions() {
    return (this.step.settings && this.step.settings.questions) || [];
  }

  update(step) {
    this.step = step;
    if (!step.mine && this.ctx.me.role === 'partner') {
      // A track's own check step is answered at the session's check (js/views/check.js),
      // and its answers are gone once it resolves: here it is only a line in the list.
      replaceChildren(this.el, this.ctx.heading(), h('p', { class: 'muted', testid: 'safety-done' },
        'Each of you answered this check privately, on your own screen.'));
      return;
    }
    const focused = this.el.contains(document.activeElement) ? document.activeElement.dataset.testid : null;
    const mine = step.mine || {};
    const children = [this.ctx.heading()];
    if (step.body) children.push(h('div', { class: 'info-body' }, paragraphs(step.body)));
    if (step.hint && !mine.entry) children.push(h('p', { class: 'hint' }, step.hint));
    const partner = this.ctx.partner;
    if (this.ctx.me.role !== 'partner') {
      children.push(h('p', { class: 'muted' }, 'Each partner answers this check privately. Nobody else sees the answers.'));
    } else if (step.status === 'locked') {
      return;
    } else if (!mine.entry) {
      children.push(this.form(step));
    } else {
      children.push(this.after(step, mine));
    }
    if (this.ctx.me.role === 'partner' && partner) {
      const done = step.partner_status === 'submitted';
      children.push(h('p', { class: 'muted small', testid: 'safety-partner' },
        done ? `${partner.display_name} has finished their check.` : `${partner.display_name} is doing their own check.`));
    }
    if (mine.entry && step.status !== 'done') children.push(this.ctx.readyBlock());
    replaceChildren(this.el, children);
    if (focused) this.el.querySelector(`[data-testid="${focused}"]`)?.focus();
  }

  form(step) {
    const groups = questionGroups(this.questions(), this.choices, 'safety', () => { this.error = null; });
    const form = h('form', { class: 'safety-form', novalidate: true, testid: 'safety-form' },
      h('p', { class: 'notice', testid: 'safety-private' }, 'Only you will see these answers — not your partner, not a counsellor, not the summary.'),
      groups,
      this.error ? h('p', { class: 'field-error', role: 'alert', tabIndex: -1, testid: 'safety-error' }, this.error) : null,
      this.ctx.paused ? h('p', { class: 'submit-blocked', testid: 'safety-paused' }, "On a break — you can answer when you're both back.") : null,
      h('div', { class: 'actions' }, h('button', {
        type: 'submit', class: this.ctx.paused ? 'primary is-disabled' : 'primary', testid: 'safety-submit',
        'aria-disabled': this.ctx.paused ? 'true' : 'false', disabled: this.pending,
      }, this.pending ? 'One moment…' : 'Done')));
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.send();
    });
    return form;
  }

  async send() {
    if (this.pending || this.ctx.paused) return;
    const missing = this.questions().find((q) => !this.choices[q.id]);
    if (missing) {
      this.error = 'Choose an answer to each question.';
      this.update(this.step);
      this.el.querySelector('[data-testid="safety-error"]')?.focus();
      return;
    }
    this.pending = true;
    this.update(this.step);
    const result = await this.ctx.request('entry:submit', {
      client_id: this.clientId, fields: { answers: { ...this.choices } },
    });
    this.pending = false;
    if (!result.ok) this.error = result.error.message;
    this.update(this.ctx.step);
  }

  after(step, mine) {
    const settings = step.settings || {};
    if (mine.clear) {
      return h('p', { class: 'notice', testid: 'safety-thanks' }, 'Thank you. Your answers stay with you.');
    }
    const block = h('section', { class: 'card safety-support', testid: 'safety-support', 'aria-labelledby': `safety-support-${step.id}` },
      h('h3', { id: `safety-support-${step.id}` }, 'Thank you for answering honestly'));
    if (mine.help) {
      block.append(...paragraphs(settings.concerning_text
        || "What you said matters. You deserve to feel safe. Talking it through with someone on your own, away from your partner, can help; the people below are there for exactly this."));
      block.append(h('button', {
        type: 'button', class: 'secondary', testid: 'safety-help',
        onclick: () => document.getElementById('get-help')?.click(),
      }, 'Show help resources'));
    } else {
      block.append(...paragraphs(settings.not_today_text
        || "That's a full answer. It's fine to stop for today and come back another time."));
    }
    block.append(h('p', { class: 'muted small' },
      'If you stop now, your partner sees only that a break was asked for, as with any break.'));
    block.append(h('button', {
      type: 'button', class: 'primary', testid: 'safety-stop', disabled: this.ctx.paused,
      onclick: () => this.ctx.pause(),
    }, STOP_LABEL));
    return block;
  }
}

export default registerKind({
  name: 'safety',
  takesAnswer: false, // draws itself; never revealed
  mount(step, ctx) {
    const view = new SafetyView(step, ctx);
    return { el: view.el, update: (next) => view.update(next) };
  },
  // Never on the summary page: the server leaves it out for everyone.
  summary: () => null,
});
