// The private check that opens every session (server/engine/check.py), drawn in place of
// the steps while it is open.
//
// What this screen promises is what the server does: the other partner's screen does not
// change while you answer, whatever you answer; "Not today" and "Stop for today" stop the
// session on this one press, and your partner then reads only that it has stopped for
// today — the same words whoever stopped it and why. Choices stay in this page until sent
// (no autosave: nothing about hesitating leaves the device). After a concerning answer the
// support and the help list show here, once; the server deletes the answers when the check
// resolves, so they are never shown again.

import { h, replaceChildren, paragraphs, announce } from '../dom.js';
import { newClientId } from '../socket.js';
import { helpResources } from './moderation.js';

/** One fieldset of radio buttons per question; a choice is written into `choices`. Also used
 * by a `safety` step on hand-made content (js/kinds/safety.js). */
export function questionGroups(questions, choices, prefix, onChoose) {
  return questions.map((question) => {
    const name = `${prefix}-${question.id}`;
    return h('fieldset', { class: 'safety-question', testid: `${prefix}-q-${question.id}` },
      h('legend', null, question.text),
      question.options.map((option) => {
        const id = `${name}-${option.id}`;
        return h('div', { class: 'choice' },
          h('input', {
            type: 'radio', name, id, value: option.id, checked: choices[question.id] === option.id,
            testid: `${prefix}-${question.id}-${option.id}`,
            onchange: () => { choices[question.id] = option.id; onChoose(); },
          }),
          h('label', { for: id }, option.label));
      }));
  });
}

export class CheckPanel {
  constructor(ctrl) {
    this.ctrl = ctrl;
    this.choices = {};
    this.round = null;
    this.pending = false;
    this.error = null;
    this.clientId = newClientId();
    this.el = h('section', { class: 'card check', testid: 'check', 'aria-labelledby': 'check-title', hidden: true });
    this.signature = null;
  }

  /** Draw the check from the view's `check` part; hidden once it has passed. */
  render(state) {
    const check = state.check;
    const open = Boolean(check && check.open && state.session.status === 'active');
    this.el.hidden = !open;
    if (!open) {
      this.signature = null;
      replaceChildren(this.el); // nothing of the answers or the support stays in the page
      return;
    }
    if (check.round !== this.round) { // a new round (a gap, a track's own check): start afresh
      this.round = check.round;
      this.choices = {};
      this.clientId = newClientId();
    }
    const signature = JSON.stringify([check, this.pending, this.error, state.viewer.role]);
    if (signature === this.signature) return;
    this.signature = signature;
    const focused = this.el.contains(document.activeElement) ? document.activeElement.dataset.testid : null;
    if (state.viewer.role !== 'partner') {
      replaceChildren(this.el,
        h('h2', { id: 'check-title' }, 'Each partner is doing a private check'),
        h('p', { class: 'muted', testid: 'check-counsellor' },
          'Each partner answers a few questions on their own before the session starts. Nobody sees the answers. The session starts when both are done, or stops for today.'),
        check.flag ? h('p', { class: 'notice', role: 'status', testid: 'check-flag' }, check.message) : null);
      return;
    }
    const step = check.step || {};
    const children = [h('h2', { id: 'check-title', tabIndex: -1, testid: 'check-title' }, step.title || 'Just for you')];
    if (step.body) children.push(h('div', { class: 'info-body' }, paragraphs(step.body)));
    if (!check.mine) {
      if (step.hint) children.push(h('p', { class: 'hint' }, step.hint));
      children.push(this.form(step));
    } else {
      children.push(this.after(step, check.mine));
    }
    replaceChildren(this.el, children);
    if (focused) this.el.querySelector(`[data-testid="${focused}"]`)?.focus();
  }

  questions(step) {
    return (step.settings && step.settings.questions) || [];
  }

  form(step) {
    const groups = questionGroups(this.questions(step), this.choices, 'check', () => { this.error = null; });
    const form = h('form', { class: 'safety-form', novalidate: true, testid: 'check-form' },
      groups,
      this.error ? h('p', { class: 'field-error', role: 'alert', tabIndex: -1, testid: 'check-error' }, this.error) : null,
      h('div', { class: 'actions' },
        h('button', { type: 'submit', class: 'primary', testid: 'check-submit', disabled: this.pending },
          this.pending ? 'One moment…' : 'Done'),
        this.stopButton('Not today', 'check-not-today', 'secondary')));
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.send(step);
    });
    return form;
  }

  stopButton(label, testid, cls) {
    return h('button', {
      type: 'button', class: cls, testid, disabled: this.pending,
      onclick: () => this.stop(),
    }, label);
  }

  after(step, mine) {
    const settings = step.settings || {};
    if (mine.clear) {
      return h('div', { testid: 'check-waiting' },
        h('p', { class: 'notice', role: 'status', testid: 'check-thanks' },
          "Thank you. The session starts when you've both finished your checks."),
        h('p', { class: 'muted small' }, '"Not today" is still there if you change your mind, for any reason.'),
        this.error ? h('p', { class: 'field-error', role: 'alert', testid: 'check-error' }, this.error) : null,
        h('div', { class: 'actions' }, this.stopButton('Not today', 'check-not-today', 'secondary')));
    }
    const block = h('div', { class: 'safety-support', testid: 'check-support' },
      h('h3', null, 'Support that’s just for you'),
      ...paragraphs(mine.help ? settings.concerning_text : settings.not_today_text),
      this.error ? h('p', { class: 'field-error', role: 'alert', testid: 'check-error' }, this.error) : null,
      h('div', { class: 'actions' }, this.stopButton('Stop for today', 'check-stop', 'primary')));
    if (mine.help) block.append(helpResources());
    return block;
  }

  async send(step) {
    if (this.pending) return;
    const missing = this.questions(step).find((q) => !this.choices[q.id]);
    if (missing) {
      this.error = 'Choose an answer to each question, or "Not today".';
      this.render(this.ctrl.state);
      this.el.querySelector('[data-testid="check-error"]')?.focus();
      return;
    }
    this.pending = true;
    this.render(this.ctrl.state);
    const result = await this.ctrl.conn.request('check:submit', {
      session_id: this.ctrl.sessionId, client_id: this.clientId, fields: { answers: { ...this.choices } },
    });
    this.pending = false;
    this.error = result.ok ? null : result.error.message;
    this.render(this.ctrl.state);
    if (result.ok) this.el.querySelector('h3, [data-testid="check-thanks"]')?.focus?.();
  }

  async stop() {
    if (this.pending) return;
    this.pending = true;
    this.render(this.ctrl.state);
    const result = await this.ctrl.conn.request('check:stop', { session_id: this.ctrl.sessionId });
    this.pending = false;
    this.error = result.ok ? null : result.error.message;
    if (result.ok) announce('The session has stopped for today.');
    this.render(this.ctrl.state);
  }
}
