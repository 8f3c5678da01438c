// Two Starts on different tracks at (nearly) the same moment: each partner opens their own
// new session and would sit alone. Each session's screen reads the couple's sessions (GET
// /me, then the live `me:state` pushes) and, when the partner started another track around
// the same time and neither session has moved on yet, says so with a way to join theirs:
// DELETE /api/v1/sessions/<mine> {join_session_id} calls this one off and opens theirs. If
// both press Join at once the server keeps one session (the second is told "…has just
// chosen to join you here") — docs/protocol.md, "Two Starts at once".

import { h, replaceChildren, announce } from '../dom.js';
import { api, fetchMe } from '../api.js';
import { appSocket } from '../socket.js';

// "At the same time": started within this long of each other.
const SAME_TIME_MS = 15 * 60 * 1000;

export class TwoStarts {
  constructor(ctrl) {
    this.ctrl = ctrl;
    this.el = h('div', { class: 'two-starts', testid: 'two-starts' });
    this.sessions = null; // the couple's sessions, from /me
    this.dismissed = new Set(); // "Stay here": the other session ids set aside on this page
    this.pending = false;
    this.error = null;
    this.announced = null;
    this.off = [
      appSocket.on('me:state', (me) => this.apply(me)),
      appSocket.on('connect', () => this.load()),
    ];
    this.load();
  }

  destroy() {
    this.off.forEach((off) => off());
    this.off = [];
    this.destroyed = true;
  }

  async load() {
    try {
      const me = await fetchMe();
      if (me) this.apply(me);
    } catch {
      // The home's list is a nicety here: the session works without it.
    }
  }

  apply(me) {
    if (this.destroyed || !me || !Array.isArray(me.sessions)) return;
    this.sessions = me.sessions;
    this.render();
  }

  /** The partner's session on another track, started around when this one was, or null. */
  other() {
    const state = this.ctrl.state;
    if (!state || !this.sessions || state.viewer.role !== 'partner') return null;
    const mine = this.sessions.find((s) => s.id === this.ctrl.sessionId);
    if (!mine || mine.status !== 'active' || state.session.status !== 'active') return null;
    if (!mine.created_by || mine.created_by.user_id !== state.viewer.user_id) return null;
    if ((mine.step_index || 1) > 1) return null; // under way: no longer "just started"
    const started = new Date(mine.created_at).getTime();
    return this.sessions.find((s) => s.id !== mine.id && s.status === 'active'
      && s.couple_id === mine.couple_id && s.track && mine.track && s.track.id !== mine.track.id
      && s.created_by && s.created_by.user_id !== state.viewer.user_id
      && (s.step_index || 1) <= 1 && !this.dismissed.has(s.id)
      && Math.abs(new Date(s.created_at).getTime() - started) <= SAME_TIME_MS) || null;
  }

  render() {
    if (this.destroyed) return;
    const other = this.other();
    if (!other && !this.error) {
      replaceChildren(this.el);
      return;
    }
    const focused = this.el.contains(document.activeElement) ? document.activeElement.dataset.testid : null;
    const children = [];
    if (other) {
      const name = other.created_by.display_name || 'Your partner';
      const title = (other.track && other.track.title) || 'another track';
      const mineTitle = (this.ctrl.state.session.track && this.ctrl.state.session.track.title) || 'this track';
      const line = `${name} started “${title}” at the same time as you started “${mineTitle}”.`;
      if (this.announced !== other.id) {
        this.announced = other.id;
        announce(`${line} You can join ${name} there, or stay here.`);
      }
      children.push(
        h('h2', { id: 'two-starts-title', class: 'two-starts-title' }, 'You both started a session'),
        h('p', { testid: 'two-starts-line' }, line),
        h('p', { class: 'muted small' }, `Do one together: join ${name} in “${title}” (this one is then cancelled), or stay here — ${name} sees the same choice.`),
        h('div', { class: 'actions' },
          h('button', {
            type: 'button', class: 'primary', testid: 'join-other-session', disabled: this.pending,
            onclick: () => this.join(other),
          }, this.pending ? 'Joining…' : `Join ${name} in “${title}”`),
          h('button', {
            type: 'button', class: 'link-button', testid: 'stay-in-session', disabled: this.pending,
            onclick: () => {
              this.dismissed.add(other.id);
              this.render();
              this.ctrl.focusCurrentStep();
            },
          }, 'Stay here')));
    }
    if (this.error) children.push(h('p', { class: 'notice', role: 'status', testid: 'two-starts-error' }, this.error));
    replaceChildren(this.el, h('section', {
      class: 'card two-starts-card', testid: 'two-starts-card', 'aria-labelledby': other ? 'two-starts-title' : null,
    }, children));
    if (focused) this.el.querySelector(`[data-testid="${focused}"]`)?.focus();
  }

  async join(other) {
    if (this.pending) return;
    this.pending = true;
    this.error = null;
    this.render();
    try {
      await api.del(`/sessions/${encodeURIComponent(this.ctrl.sessionId)}`, { join_session_id: other.id });
      this.pending = false;
      if (!this.destroyed) this.ctrl.navigate(`/s/${other.id}`);
    } catch (error) {
      this.pending = false;
      // Most often: the partner chose this session at the same moment, so both are here.
      this.error = error.message;
      this.dismissed.add(other.id);
      this.render();
      announce(error.message);
    }
  }
}
