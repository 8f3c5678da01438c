// The session screen: header (track, progress, people, connection), then every step.
// State comes only from the server (join ack + pushes); what is local is the text being
// written, the draft-save status and the outbox of submits awaiting their ack.

import { h, replaceChildren, announce, formatTime, formatDate, paragraphs } from '../dom.js';
import { SessionConnection, isTransient, newClientId } from '../socket.js';
import { valuesFrom, removedDisplay, skippedDisplay } from './answers.js';
import { kindFor } from '../kinds/index.js';
import { ModerationArea, stepExtras, floorFor, submittedLine, helpResources, destroyArea } from './moderation.js';
import { CheckPanel } from './check.js';
import { api } from '../api.js';
import { TwoStarts } from './starts.js';

const DRAFT_DEBOUNCE_MS = 800;
const DRAFT_RETRY_MS = 5000;
const TYPING_IDLE_MS = 3000;

// Words not yet saved live only in this page's memory, so the line says what keeps them:
// the page staying open. (They are deliberately not copied to sessionStorage: on a shared
// device anyone who later opens this tab — Back after "Leave quickly", or the browser's
// devtools — could read them, logged in or not. A reload asks first while words are unsaved.)
const KEEP_OPEN = "keep this page open; your words will be saved when you're back";
const CONNECTION_TEXT = {
  connecting: 'Connecting…',
  connected: 'Connected',
  reconnecting: `Reconnecting… ${KEEP_OPEN}`,
  offline: `Offline — ${KEEP_OPEN}`,
  closed: 'Not connected',
};

const FLOOR_CLOSED = 'Your counsellor has given the floor to';
// Structured kinds that fold their own finished step (js/kinds/boundary.js, listening.js).
const SELF_FOLDING = new Set(['boundary', 'listening']);
const ACK_TEXT = { thanks: 'Thank you for sharing', hear_you: 'I hear you' };

// Breaks: the countdown text is redrawn this often (quietly: it is not a live region, so a
// screen reader hears only the meaningful changes, which go through announce()).
const BREAK_REFRESH_MS = 30_000;
const BREAK_WAIT = "On a break — your words keep saving here, and you can send them when you're both back.";
const BREAK_CARD = [
  "Step away from the conversation for now. Please don't rehearse what you'll say next or replay the argument in your head: that keeps your body on alert.",
  'Do something that settles you instead: a walk, slow breathing, a glass of water, some music, a few minutes outside.',
  "Try to come back within a day, even if only to say when you'd like to carry on.",
];

export function renderSession(root, { sessionId, user, navigate, onAuthLost }) {
  const ctrl = new SessionController(root, { sessionId, user, navigate, onAuthLost });
  ctrl.start();
  return {
    destroy: () => ctrl.destroy(),
    hasUnsavedWork: () => ctrl.hasUnsavedWork(),
    hasPendingSubmit: () => ctrl.conn.outbox.size > 0,
  };
}

class SessionController {
  constructor(root, { sessionId, user, navigate, onAuthLost }) {
    this.root = root;
    this.sessionId = sessionId;
    this.user = user;
    this.navigate = navigate;
    this.onAuthLost = onAuthLost;
    this.state = null;
    this.presence = null;
    this.views = new Map(); // step id -> StepView
    this.local = new Map(); // step id -> {body, fields} being written (memory only)
    this.acked = new Map(); // step id -> entry acknowledged before the state shows it
    this.submitErrors = new Map(); // step id -> error message
    this.skipping = new Set(); // step ids whose outbox item is a skip
    this.destroyed = false;
    this.lastStepId = null;
    this.lastStatus = null;
    this.conn = new SessionConnection(sessionId, {
      onState: (state, source) => this.onState(state, source),
      onPresence: (presence) => { this.presence = presence; this.renderPeople(); this.renderSteps(); },
      onStatus: (status) => this.renderConnection(status),
      onOutbox: () => this.renderSteps(),
      onSubmitted: (stepId, entry) => {
        if (entry) this.acked.set(stepId, entry);
        this.local.delete(stepId);
        this.skipping.delete(stepId);
        this.renderSteps();
      },
      onSubmitError: (stepId, error) => {
        this.skipping.delete(stepId);
        this.submitErrors.set(stepId, error.message);
        this.renderSteps();
        this.views.get(stepId)?.focusError();
      },
      onJoined: () => this.views.forEach((view) => view.onReconnected()),
      onJoinError: (error) => this.showFatal(error),
      onAuthLost: (error) => this.onAuthLost(error),
      onKicked: () => this.onAuthLost({ code: 'kicked', message: 'You were disconnected.' }, () => this.conn.reconnect()),
    });
    this.forwardSkips();
    this.buildShell();
  }

  /**
   * A skip is a submit with `skip: true`, and goes through the same outbox (one client_id,
   * resent after a reconnect until acknowledged). SessionConnection.submit() takes only
   * {body, fields} today, so the flag is added to the outgoing `entry:submit` of a step
   * marked as skipping. When submit() forwards `skip` itself this adds nothing.
   */
  forwardSkips() {
    const conn = this.conn;
    const request = conn.request.bind(conn);
    conn.request = (event, payload, ...rest) => {
      const skip = event === 'entry:submit' && payload && this.skipping.has(payload.step_id);
      return request(event, skip ? { ...payload, skip: true } : payload, ...rest);
    };
  }

  submitSkip(stepId) {
    this.skipping.add(stepId);
    this.conn.submit(stepId, { body: null, fields: null, skip: true });
  }

  /** The pending (unacknowledged) submit for a step is a skip. */
  pendingSkip(stepId) {
    const item = this.conn.pending(stepId);
    return Boolean(item && (item.skip || this.skipping.has(stepId)));
  }

  acknowledge(stepId, ack) {
    const payload = { session_id: this.sessionId, step_id: stepId, ack };
    return typeof this.conn.acknowledge === 'function'
      ? this.conn.acknowledge(stepId, ack)
      : this.conn.request('step:acknowledge', payload);
  }

  start() {
    this.conn.start();
    this._beforeUnload = (event) => {
      if (this.hasUnsavedWork()) {
        event.preventDefault();
        event.returnValue = '';
      }
    };
    window.addEventListener('beforeunload', this._beforeUnload);
  }

  destroy() {
    if (this.destroyed) return;
    this.views.forEach((view) => view.flush());
    this.destroyed = true;
    clearInterval(this.breakTimer);
    window.removeEventListener('beforeunload', this._beforeUnload);
    this.views.forEach((view) => view.destroy());
    destroyArea(this.moderation);
    this.starts.destroy();
    this.conn.close();
  }

  hasUnsavedWork() {
    if (this.conn.outbox.size > 0) return true;
    return [...this.views.values()].some((view) => view.isDirty());
  }

  // ---- shell --------------------------------------------------------------------------

  buildShell() {
    this.titleEl = h('h1', { class: 'view-title', tabIndex: -1, testid: 'session-title' }, 'Opening your session…');
    this.progressEl = h('p', { class: 'progress', testid: 'step-progress' });
    this.peopleEl = h('ul', { class: 'people', 'aria-label': 'People in this session', testid: 'participants' });
    this.connectionEl = h('p', { class: 'connection', role: 'status', testid: 'connection-status', 'data-status': 'connecting' },
      h('span', { class: 'dot', 'aria-hidden': 'true' }), h('span', { class: 'connection-text' }, CONNECTION_TEXT.connecting));
    this.bannerEl = h('div', { class: 'banners' });
    this.breakEl = h('div', { class: 'break-area', testid: 'break-area' });
    this.breakForm = null; // the "Take a break" choices, while open
    this.breakPending = false;
    this.breakError = null;
    this.breakTimer = setInterval(() => this.renderBreak(), BREAK_REFRESH_MS);
    this.stepsEl = h('ol', { class: 'steps', testid: 'steps', 'aria-label': 'Steps' });
    // The private check that opens every session: drawn instead of the steps while open.
    this.check = new CheckPanel(this);
    this.fatalEl = h('div', { class: 'fatal', hidden: true });
    // The counsellor's part (js/views/moderation.js): the invite, notice and messages for
    // partners, the controls for the counsellor, the Activity list for everyone.
    this.moderation = new ModerationArea(this);
    // Cancelling the session (either partner, with a confirmation) and the partner's Start
    // on another track at the same moment (js/views/starts.js).
    this.cancelEl = h('div', { class: 'cancel-area', testid: 'cancel-area' });
    this.cancelOpen = false;
    this.cancelPending = false;
    this.cancelError = null;
    this.starts = new TwoStarts(this);
    const counsellor = this.user && this.user.role === 'counsellor';
    this.backLink = h('a', { href: counsellor ? '/counsellor' : '/', 'data-link': '', class: 'back-link', testid: 'back-home' },
      counsellor ? '← Your sessions' : '← Home');
    const header = h('header', { class: 'session-header' }, this.backLink, this.titleEl);
    const statusBar = h('div', { class: 'session-meta-row' }, this.progressEl, this.connectionEl, this.peopleEl);
    replaceChildren(this.root, h('div', { class: 'session' },
      header, statusBar, this.fatalEl, this.starts.el, this.breakEl, this.bannerEl, this.moderation.topEl,
      this.moderation.messagesEl, this.check.el, this.stepsEl, this.cancelEl, this.moderation.activityEl));
  }

  showFatal(error) {
    this.titleEl.textContent = "We couldn't open this session";
    replaceChildren(this.fatalEl,
      h('p', { class: 'notice notice-error', role: 'alert', testid: 'session-error' }, error.message),
      h('a', { href: '/', 'data-link': '', class: 'button-link' }, 'Back to home'));
    this.fatalEl.hidden = false;
    this.stepsEl.hidden = true;
    this.conn.close();
    this.renderConnection('closed');
  }

  // ---- cancelling ------------------------------------------------------------------------

  /** "Cancel this session", for a partner while it is under way; a confirmation in place
   *  says what happens (the other is told; what wasn't shown to both is deleted). */
  renderCancel() {
    if (!this.state || this.destroyed) return;
    const { session, viewer } = this.state;
    // While the private check is open its own "Not today" is the way out: it stops the
    // session without saying who, which a named cancel would (issue 15's promise).
    if (session.status !== 'active' || viewer.role !== 'partner' || this.checkOpen()) {
      this.cancelOpen = false;
      replaceChildren(this.cancelEl);
      return;
    }
    const focused = this.cancelEl.contains(document.activeElement) ? document.activeElement.dataset.testid : null;
    const partner = this.partnerName();
    const open = h('button', {
      type: 'button', class: 'link-button', testid: 'cancel-session', 'aria-expanded': String(this.cancelOpen),
      'aria-controls': 'cancel-confirm', onclick: () => this.toggleCancel(!this.cancelOpen),
    }, 'Cancel this session');
    const confirm = !this.cancelOpen ? null : h('div', {
      class: 'card cancel-confirm', id: 'cancel-confirm', role: 'group', 'aria-labelledby': 'cancel-question', testid: 'cancel-confirm',
    },
    h('p', { id: 'cancel-question', class: 'cancel-question', tabIndex: -1 },
      `Cancel this session for both of you? ${partner} will be told. Answers and drafts not yet shown to you both are deleted and never shown; what you've already seen together stays readable.`),
    this.cancelError ? h('p', { class: 'field-error', role: 'alert', testid: 'cancel-error' }, this.cancelError) : null,
    h('div', { class: 'actions' },
      h('button', {
        type: 'button', class: 'secondary', testid: 'confirm-cancel', disabled: this.cancelPending,
        onclick: () => this.cancelSession(),
      }, this.cancelPending ? 'Cancelling…' : 'Yes, cancel the session'),
      h('button', { type: 'button', class: 'link-button', testid: 'keep-session', onclick: () => this.toggleCancel(false) }, 'Keep going')));
    const block = h('div', { class: 'cancel-block' }, open, confirm);
    block.addEventListener('keydown', (event) => {
      if (event.key === 'Escape' && this.cancelOpen) {
        event.preventDefault();
        this.toggleCancel(false);
      }
    });
    replaceChildren(this.cancelEl, block);
    if (focused) this.cancelEl.querySelector(`[data-testid="${focused}"]`)?.focus();
  }

  toggleCancel(open) {
    this.cancelOpen = open;
    this.cancelError = null;
    this.renderCancel();
    if (open) this.cancelEl.querySelector('#cancel-question')?.focus();
    else this.cancelEl.querySelector('[data-testid="cancel-session"]')?.focus();
  }

  async cancelSession() {
    if (this.cancelPending) return;
    this.cancelPending = true;
    this.cancelError = null;
    this.renderCancel();
    try {
      await api.del(`/sessions/${encodeURIComponent(this.sessionId)}`);
      this.cancelPending = false;
      this.cancelOpen = false;
      // The push that follows shows the cancelled session (and moves the focus there).
    } catch (error) {
      this.cancelPending = false;
      this.cancelError = error.message;
      this.renderCancel();
      this.cancelEl.querySelector('[data-testid="cancel-error"]')?.focus?.();
    }
  }

  renderConnection(status) {
    if (this.destroyed) return;
    this.connectionEl.dataset.status = status;
    this.connectionEl.querySelector('.connection-text').textContent = CONNECTION_TEXT[status] || status;
    this.renderPeople();
    this.renderSteps(); // "Sending…" lines mention whether we are connected
  }

  // ---- state ----------------------------------------------------------------------------

  onState(state, source) {
    if (this.destroyed) return;
    const previous = this.state;
    this.state = state;
    // Entries the server now shows supersede acks we were holding.
    for (const step of state.steps) {
      if (step.mine && step.mine.entry) this.acked.delete(step.id);
      if (step.status !== 'open') this.submitErrors.delete(step.id);
      if (this.submitErrors.get(step.id) === BREAK_WAIT && !this.isPaused()) this.submitErrors.delete(step.id);
      if (String(this.submitErrors.get(step.id)).startsWith(FLOOR_CLOSED) && !(floorFor(state, step.id) || {}).lockedOut) {
        this.submitErrors.delete(step.id);
      }
    }
    if (source === 'join' || !previous) this.presence = null; // the state's own online flags are fresh
    this.renderHeader();
    this.renderPeople();
    this.renderBanners();
    this.check.render(state);
    this.renderSteps();
    this.moderation.render(previous);
    this.announceChanges(previous, state);
    this.showRevisit(previous, state);
    this.renderCancel();
    this.starts.render();
  }

  /** A finished step the counsellor brings back: opened and scrolled into view, once. */
  showRevisit(previous, state) {
    const focus = state.moderation && state.moderation.focus_step_id;
    const before = previous && previous.moderation && previous.moderation.focus_step_id;
    if (!focus || focus === before) return;
    const view = this.views.get(focus);
    if (!view) return;
    view.userOpen = true;
    view.signature = null;
    this.renderSteps();
    const step = state.steps.find((s) => s.id === focus);
    if (previous && step) announce(`Your counsellor brought back “${step.title}” to talk about.`);
    requestAnimationFrame(() => view.el.scrollIntoView({ behavior: prefersReducedMotion() ? 'auto' : 'smooth', block: 'start' }));
  }

  partner() {
    if (!this.state) return null;
    const me = this.state.viewer.user_id;
    return this.state.participants.find((p) => p.user_id !== me && p.role === 'partner') || null;
  }

  partnerName() {
    const partner = this.partner();
    return partner ? partner.display_name : 'your partner';
  }

  nameOf(userId) {
    if (!this.state) return 'Someone';
    if (userId === this.state.viewer.user_id) return 'You';
    const person = this.state.participants.find((p) => p.user_id === userId);
    return person ? person.display_name : 'Someone';
  }

  isOnline(userId) {
    if (this.presence) return this.presence.online.includes(userId);
    const person = this.state.participants.find((p) => p.user_id === userId);
    return Boolean(person && person.online);
  }

  /** Known to be away: we are connected (so presence is current) and they are not here. */
  isAway(userId) {
    return this.conn.status === 'connected' && !this.isOnline(userId);
  }

  isTyping(userId, stepId) {
    return Boolean(this.presence && this.presence.typing.includes(userId)
      && this.state && this.state.session.current_step_id === stepId);
  }

  renderHeader() {
    const { session, steps } = this.state;
    if (this.state.viewer.role === 'counsellor' && this.backLink.getAttribute('href') !== '/counsellor') {
      this.backLink.setAttribute('href', '/counsellor');
      this.backLink.textContent = '← Your sessions';
    }
    this.titleEl.textContent = session.track.title;
    document.title = 'Mend'; // neutral: no track, no name (issue 15)
    if (session.status === 'finished') {
      this.progressEl.textContent = `Finished · ${steps.length} steps`;
    } else if (session.status !== 'active') {
      // Stopped early (or cancelled): say how far it got, not "Step 1 of 10" as if under way.
      const reached = steps.filter((s) => s.status !== 'locked').length;
      const how = session.status === 'cancelled' ? 'Cancelled' : 'Stopped early';
      this.progressEl.textContent = reached
        ? `${how} · at step ${reached} of ${steps.length}` : `${how} · before the first step`;
    } else {
      const index = session.step_index || (steps.findIndex((s) => s.id === session.current_step_id) + 1);
      const count = session.step_count || steps.length;
      this.progressEl.textContent = `Step ${index} of ${count}`;
    }
  }

  renderPeople() {
    if (!this.state || this.destroyed) return;
    const me = this.state.viewer.user_id;
    // While we are disconnected we can't know who else is here: show no one as online.
    const known = this.conn.status === 'connected';
    replaceChildren(this.peopleEl, this.state.participants.map((person) => {
      const online = known && this.isOnline(person.user_id);
      const isMe = person.user_id === me;
      // Presence in words, not only a filled or hollow dot: "Sam is here" / "Sam is away"
      // (while we are disconnected nobody can be known to be here: "not connected").
      const where = isMe ? (known ? 'you' : 'you, not connected') : (online ? 'is here' : 'is away');
      return h('li', {
        class: online ? 'person online' : 'person', testid: 'participant', 'data-user-id': person.user_id,
        'data-presence': online ? 'here' : 'away',
      },
      h('span', { class: 'dot', 'aria-hidden': 'true' }),
      h('span', null, person.display_name),
      person.role === 'counsellor' ? h('span', { class: 'role' }, ' · counsellor') : null,
      h('span', { class: 'presence-word', testid: 'presence' }, isMe ? ` (${where})` : ` ${where}`));
    }));
  }

  renderBanners() {
    const { session } = this.state;
    const banners = [];
    if (session.status !== 'active') { // finished, stopped early, cancelled
      banners.push(this.closingCard());
    }
    if (!session.break && session.paused_until && new Date(session.paused_until) > new Date()) {
      banners.push(h('p', { class: 'notice', role: 'status', testid: 'paused-banner' },
        `You're taking a break until ${formatTime(session.paused_until)}. Your work is kept.`));
    }
    replaceChildren(this.bannerEl, banners);
    this.renderBreak();
  }

  // ---- breaks -------------------------------------------------------------------------

  /** The session is paused for everyone: a break, or a plain timed pause. */
  isPaused() {
    const session = this.state && this.state.session;
    if (!session || session.status !== 'active') return false;
    if (session.break) return true;
    return Boolean(session.paused_until && new Date(session.paused_until) > new Date());
  }

  breakDefaults() {
    const breaks = (this.state && this.state.session.breaks) || {};
    return { minutes: breaks.minutes || 20, max: breaks.max_minutes || 240 };
  }

  /** "about 20 minutes", "about 1 hour 15 minutes": calm, rounded to the minute. */
  static aboutMinutes(minutes) {
    const m = Math.max(1, Math.round(minutes));
    if (m < 60) return `about ${m} minute${m === 1 ? '' : 's'}`;
    const hours = Math.floor(m / 60);
    const rest = m % 60;
    return `about ${hours} hour${hours === 1 ? '' : 's'}${rest ? ` ${rest} minutes` : ''}`;
  }

  renderBreak() {
    if (!this.state || this.destroyed) return;
    const { session, viewer } = this.state;
    if (session.status !== 'active' || (this.checkOpen() && !session.break)) {
      this.breakForm = null;
      replaceChildren(this.breakEl);
      return;
    }
    const brk = session.break;
    if (!brk) {
      // An open "Take a break" form stays as it is (a push must not take the focus or words).
      if (this.breakForm && this.breakEl.firstChild === this.breakForm) return;
      const hadFocus = this.breakEl.contains(document.activeElement);
      replaceChildren(this.breakEl, this.breakStarter(viewer));
      // The break is over and its panel gone: carry on where the session is.
      if (hadFocus) this.focusCurrentStep();
      return;
    }
    const focused = this.breakEl.contains(document.activeElement) ? (document.activeElement.dataset.testid || '') : null;
    this.breakForm = null;
    const mine = brk.by_user_id === viewer.user_id;
    const who = this.nameOf(brk.by_user_id);
    const left = (new Date(brk.until) - new Date()) / 60000;
    const over = brk.countdown_over || left <= 0;
    const iAmBack = brk.back.includes(viewer.user_id);
    const others = this.state.participants.filter((p) => p.role === 'partner' && p.user_id !== viewer.user_id);
    const waitingFor = others.filter((p) => !brk.back.includes(p.user_id)).map((p) => p.display_name);
    const headline = mine ? 'You asked for a break' : `${who} asked for a break`;
    const countdown = over
      ? "Time's up — come back when you're ready."
      : `Back in ${SessionController.aboutMinutes(left)} (until ${formatTime(brk.until)}).`;
    const isPartner = viewer.role === 'partner';
    const children = [
      h('h2', { id: 'break-title', tabIndex: -1 }, headline),
      h('p', { class: 'break-countdown', testid: 'break-countdown' }, countdown),
      h('div', { class: 'break-card', testid: 'break-card' }, BREAK_CARD.map((line) => h('p', null, line))),
      mine && brk.reason ? h('p', { class: 'muted small', testid: 'break-reason' }, `Your note (only you can see it): ${brk.reason}`) : null,
    ];
    if (isPartner && !iAmBack) {
      children.push(h('button', {
        type: 'button', class: 'primary', testid: 'break-back', disabled: this.breakPending,
        onclick: () => this.sendBreak('session:resume', {}),
      }, "I'm back"));
    } else if (isPartner) {
      children.push(h('p', { class: 'ready-note', testid: 'break-waiting' },
        waitingFor.length ? `You're back. Ready when ${waitingFor.join(' and ')} is.` : "You're back."));
    } else {
      children.push(h('button', {
        type: 'button', class: 'secondary', testid: 'break-end', disabled: this.breakPending,
        onclick: () => this.sendBreak('session:resume', {}),
      }, 'End the break for everyone'));
    }
    const backNames = brk.back.filter((uid) => uid !== viewer.user_id).map((uid) => this.nameOf(uid));
    if (backNames.length) {
      children.push(h('p', { class: 'muted small', testid: 'break-partner-back' }, `${backNames.join(' and ')} is back, whenever you are.`));
    }
    if (this.breakError) children.push(h('p', { class: 'field-error', role: 'alert' }, this.breakError));
    replaceChildren(this.breakEl, h('section', {
      class: 'card break-panel', testid: 'break-panel', 'aria-labelledby': 'break-title', 'data-over': over ? 'true' : 'false',
    }, children));
    if (focused !== null || this.breakEl === document.activeElement) {
      // Keep focus on the same control; if it is gone (the form became the panel, "I'm
      // back" became "You're back"), on the panel's heading.
      const same = focused && this.breakEl.querySelector(`[data-testid="${focused}"]`);
      (same || this.breakEl.querySelector('#break-title'))?.focus({ preventScroll: true });
    }
  }

  /** "Take a break": always one Tab away during a session; asks how long and, optionally, why. */
  breakStarter(viewer) {
    if (this.breakForm) return this.breakForm;
    const open = h('button', {
      type: 'button', class: 'secondary break-open', testid: 'break-open', 'aria-expanded': 'false',
      'aria-controls': 'break-form', onclick: () => this.openBreakForm(),
    }, 'Take a break');
    const note = viewer.role === 'partner'
      ? 'Feeling overwhelmed? Pause for both of you, any time.'
      : 'Pause the session for everyone.';
    return h('div', { class: 'break-starter', testid: 'break-starter' }, open, h('span', { class: 'muted small' }, ` ${note}`));
  }

  openBreakForm() {
    const { minutes, max } = this.breakDefaults();
    const choices = [...new Set([minutes, 30, 45, 60, 90, 120, 180, 240].filter((m) => m >= minutes && m <= max))];
    const select = h('select', { id: 'break-minutes', testid: 'break-minutes' },
      choices.map((m) => h('option', { value: String(m), selected: m === minutes ? 'selected' : null },
        m === minutes ? `${SessionController.aboutMinutes(m).replace('about ', '')} (usual)` : SessionController.aboutMinutes(m).replace('about ', ''))));
    select.value = String(minutes);
    const reason = h('textarea', { id: 'break-reason', testid: 'break-reason-input', rows: 2, maxLength: 1000 });
    const form = h('form', { class: 'card break-form', id: 'break-form', testid: 'break-form', 'aria-labelledby': 'break-form-title' },
      h('h2', { id: 'break-form-title', tabIndex: -1 }, 'Take a break'),
      h('p', null, 'The session pauses for both of you. Nothing you have written is lost.'),
      h('label', { for: 'break-minutes' }, 'How long?'), ' ', select,
      h('label', { for: 'break-reason', class: 'break-reason-label' }, 'A note for yourself (optional — only you will see it)'),
      reason,
      this.breakError ? h('p', { class: 'field-error', role: 'alert' }, this.breakError) : null,
      h('div', { class: 'actions' },
        h('button', { type: 'submit', class: 'primary', testid: 'break-start' }, 'Start the break'),
        h('button', { type: 'button', class: 'link-button', testid: 'break-cancel', onclick: () => this.closeBreakForm() }, 'Not now')));
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.sendBreak('session:pause', { minutes: Number(select.value), reason: reason.value.trim() || null });
    });
    form.addEventListener('keydown', (event) => {
      if (event.key === 'Escape') {
        event.preventDefault();
        this.closeBreakForm();
      }
    });
    this.breakForm = form;
    replaceChildren(this.breakEl, form);
    select.focus();
  }

  closeBreakForm() {
    this.breakForm = null;
    this.breakError = null;
    this.renderBreak();
    this.breakEl.querySelector('[data-testid="break-open"]')?.focus();
  }

  /** Also the safety check's neutral way out: the same break, with no reason. */
  async sendBreak(event, payload) {
    if (this.breakPending) return { ok: false };
    this.breakPending = true;
    this.breakError = null;
    const result = await this.conn.request(event, { session_id: this.sessionId, ...payload });
    this.breakPending = false;
    if (this.destroyed) return result;
    if (!result.ok) this.breakError = result.error.message;
    if (!result.ok && this.breakForm) {
      // The form stays open with the words in it; the reason it didn't start goes under it.
      this.breakForm.querySelector('.field-error')?.remove();
      const line = h('p', { class: 'field-error', role: 'alert', testid: 'break-error' }, this.breakError);
      this.breakForm.querySelector('.actions').before(line);
    }
    this.renderBreak(); // the push that shows the break (or its end) redraws the panel
    return result;
  }

  announceBreak(previous, state) {
    const before = previous.session.break;
    const now = state.session.break;
    const me = state.viewer.user_id;
    if (!before && now) {
      announce(now.by_user_id === me ? 'Your break has started. The session is paused for both of you.'
        : `${this.nameOf(now.by_user_id)} asked for a break — back in ${SessionController.aboutMinutes(now.minutes || 20)}.`);
    } else if (before && !now) {
      announce("You're both back. The session carries on.");
    } else if (before && now) {
      if (!before.countdown_over && now.countdown_over) announce("Time's up — come back when you're ready.");
      const newlyBack = now.back.filter((uid) => !before.back.includes(uid) && uid !== me);
      if (newlyBack.length) announce(`${newlyBack.map((uid) => this.nameOf(uid)).join(' and ')} is back.`);
    }
  }

  /** The calm end of a session: what now, the summary, and the way home. A session that
   * stopped early reads the same for everyone, whoever or whatever stopped it (the words
   * come from content/check.yaml), with the same help list for both partners. */
  closingCard() {
    const { session, steps } = this.state;
    const finished = session.status === 'finished';
    const cancelled = session.status === 'cancelled';
    const endedAt = session.finished_at ? new Date(session.finished_at) : null;
    // Read again on a later day, "nothing more to do here today" would not be true.
    const endedToday = !endedAt || endedAt.toDateString() === new Date().toDateString();
    const when = endedAt ? formatDate(session.finished_at) : '';
    const isCounsellor = this.state.viewer.role === 'counsellor';
    const stopped = session.stopped || {};
    const reached = steps.filter((s) => s.status !== 'locked').length;
    const ending = finished
      ? (endedToday
        ? 'Thank you both for the care you took. There is nothing more to do here today; take a breath before you move on.'
        : 'You finished this track together. Read it back whenever it helps.')
      : cancelled ? ((session.cancelled && session.cancelled.text) || 'This session was cancelled before it was finished.')
        : (stopped.text || 'This session has stopped for today.');
    const title = finished ? "You've finished this track"
      : cancelled ? 'This session was cancelled'
        // The content's "…for today" is true on the day; read later, it stopped early.
        : endedToday ? (stopped.title || 'This session has stopped for today') : 'This session stopped early';
    const dated = !when ? null : finished ? `Finished ${when}` : cancelled ? `Cancelled ${when}` : `Stopped ${when}`;
    // What the summary holds: nothing at all when the session stopped before its first step.
    const summaryLine = !reached
      ? 'It stopped before the first step, so nothing was shared and there is no summary to read.'
      : finished
        ? 'The summary puts what you shared on one page, to read back together, print or keep. The steps below stay here too.'
        : 'The summary puts what you shared before it stopped on one page, to read back together, print or keep. The steps below stay here too.';
    return h('section', { class: 'card finished', testid: 'finished-banner', 'aria-labelledby': 'finished-title' },
      h('h2', { id: 'finished-title', tabIndex: -1 }, title),
      dated ? h('p', { class: 'muted small', testid: 'finished-at' }, dated) : null,
      h('div', { testid: 'ended-text' }, paragraphs(ending)),
      !finished && !cancelled && !isCounsellor ? helpResources() : null,
      h('p', { testid: 'summary-note' }, summaryLine),
      h('div', { class: 'finished-actions' },
        reached ? h('a', {
          href: `/s/${encodeURIComponent(this.sessionId)}/summary`, 'data-link': '', class: 'button-link button-strong', testid: 'summary-link',
        }, 'Read your summary') : null,
        h('a', { href: isCounsellor ? '/counsellor' : '/', 'data-link': '', class: 'button-link', testid: 'finished-home' },
          isCounsellor ? 'Back to your sessions' : 'Back to home')));
  }

  renderSteps() {
    if (!this.state || this.destroyed) return;
    const hadFocus = this.stepsEl.contains(document.activeElement);
    const steps = this.state.steps;
    const finished = this.state.session.status !== 'active';
    this.stepsEl.hidden = this.checkOpen();
    steps.forEach((step, index) => {
      let view = this.views.get(step.id);
      if (!view) {
        view = new StepView(this, step.id);
        this.views.set(step.id, view);
      }
      if (this.stepsEl.children[index] !== view.el) this.stepsEl.insertBefore(view.el, this.stepsEl.children[index] || null);
      view.update(step, { index, count: steps.length, finished });
    });
    // Focus was on something that a re-render removed (a ready button, say): put it on
    // the current step's heading rather than letting it fall back to the page.
    if (hadFocus && (!document.activeElement || document.activeElement === document.body)) {
      this.focusCurrentStep();
    }
  }

  /** Joint work waits for the private check (server/engine/check.py). */
  checkOpen() {
    const state = this.state;
    return Boolean(state && state.check && state.check.open && state.session.status === 'active');
  }

  focusCurrentStep() {
    const id = this.state && this.state.session.current_step_id;
    const view = id ? this.views.get(id) : null;
    if (view) view.focusHeading();
    else this.titleEl.focus();
  }

  announceChanges(previous, state) {
    if (!previous) {
      this.lastStepId = state.session.current_step_id;
      return;
    }
    this.announceBreak(previous, state);
    const partner = this.partnerName();
    for (const step of state.steps) {
      const before = previous.steps.find((s) => s.id === step.id);
      if (!before) continue;
      if (before.status !== 'revealed' && step.status === 'revealed') {
        announce(`Both answers to "${step.title}" are in. They're shown side by side.`);
      } else if (before.partner_status !== 'submitted' && step.partner_status === 'submitted') {
        announce(`${partner} has submitted their answer to "${step.title}".`);
      }
    }
    for (const step of state.steps) {
      const before = previous.steps.find((s) => s.id === step.id);
      const partner = this.partner();
      const ack = partner && (step.acks || []).find((a) => a.user_id === partner.user_id);
      const had = before && partner && (before.acks || []).find((a) => a.user_id === partner.user_id);
      if (ack && ACK_TEXT[ack.ack] && (!had || had.ack !== ack.ack)) {
        announce(`${partner.display_name}: ${ACK_TEXT[ack.ack]} (on “${step.title}”)`);
      }
    }
    if (state.session.status !== 'active' && previous.session.status === 'active') {
      announce(state.session.status === 'finished' ? "You've finished this track."
        : state.session.status === 'cancelled' ? ((state.session.cancelled && state.session.cancelled.text) || 'This session was cancelled.')
          : 'This session has stopped for today.');
      const hadFocus = this.root.contains(document.activeElement) || document.activeElement === document.body;
      requestAnimationFrame(() => {
        const title = this.bannerEl.querySelector('#finished-title');
        if (!title) return;
        if (hadFocus) title.focus({ preventScroll: true });
        title.closest('section').scrollIntoView({ behavior: prefersReducedMotion() ? 'auto' : 'smooth', block: 'start' });
      });
    } else if (state.session.current_step_id !== this.lastStepId) {
      const current = state.steps.find((s) => s.id === state.session.current_step_id);
      if (current) {
        announce(`Now on step ${state.session.step_index || ''}: ${current.title}`);
        const view = this.views.get(current.id);
        if (view) requestAnimationFrame(() => view.el.scrollIntoView({ behavior: prefersReducedMotion() ? 'auto' : 'smooth', block: 'start' }));
      }
    }
    this.lastStepId = state.session.current_step_id;
  }
}

function prefersReducedMotion() {
  return window.matchMedia && window.matchMedia('(prefers-reduced-motion: reduce)').matches;
}

// ---- one step ---------------------------------------------------------------------------

class StepView {
  constructor(ctrl, stepId) {
    this.ctrl = ctrl;
    this.id = stepId;
    this.el = h('li', { class: 'step', 'data-step-id': stepId, testid: `step-${stepId}` });
    // What the counsellor put on this step (brought back, the floor, cards): kept first in
    // the step whatever the mode draws after it.
    this.extrasEl = h('div', { class: 'step-extras' });
    this.extrasSignature = null;
    this.mode = null;
    this.signature = null;
    this.step = null;
    this.kind = null;
    // editing
    this.dirty = false;
    this.draftInFlight = false;
    this.draftTimer = null;
    this.retryTimer = null;
    this.typing = false;
    this.typingTimer = null;
    this.confirmingSkip = false;
    // ready and acknowledgements
    this.readyPending = false;
    this.readyError = null;
    this.ackPending = null;
    this.ackError = null;
    this.userOpen = null;
  }

  modeFor(step, finished) {
    if (step.status === 'locked') return 'locked';
    // A structured kind (listening, apology, boundary…) draws its whole step itself.
    if (this.kind.mount) return 'custom';
    if (step.status === 'done' || finished) return 'done';
    if (!this.kind.takesAnswer || !step.answer) return 'info';
    if (this.revising && !(step.status === 'open' && step.mine && step.mine.entry && step.partner_status !== 'submitted')) {
      this.stopRevising(step); // the partner submitted first (or the answer is gone)
    }
    if (step.status === 'revealed') return 'revealed';
    if (this.ctrl.state.viewer.role !== 'partner' || !step.mine) return 'observe';
    if (this.revising) return 'edit';
    const sent = (step.mine && step.mine.entry) || this.ctrl.acked.has(this.id) || this.ctrl.conn.pending(this.id);
    return sent ? 'sent' : 'edit';
  }

  // ---- changing a submitted answer before the partner submits ----------------------------

  /** The answer can still be edited or taken back: sent, and the partner hasn't submitted. */
  canChange() {
    const step = this.step;
    return Boolean(this.ctrl.state.viewer.role === 'partner' && step.status === 'open' && step.mine
      && step.mine.entry && step.partner_status !== 'submitted' && !this.ctrl.conn.pending(this.id)
      && this.ctrl.state.session.status === 'active');
  }

  /** "Edit my answer": the editor opens on the submitted words; the answer stands until saved. */
  startRevising() {
    if (!this.canChange()) return;
    this.revising = true;
    this.changeError = null;
    this.ctrl.local.set(this.id, valuesFrom(this.step.mine.entry));
    this.ctrl.renderSteps();
    announce(`Editing your answer. ${this.ctrl.partnerName()} still sees it as submitted until you save.`);
    requestAnimationFrame(() => this.widget && this.widget.focus());
  }

  /** Leave the editor without sending ("Keep my answer as it was", or the partner submitted). */
  stopRevising(step, { refocus = false } = {}) {
    const wasOpen = this.revising;
    this.revising = false;
    this.revisionId = null;
    this.ctrl.local.delete(this.id);
    if (wasOpen && step && step.partner_status === 'submitted' && !refocus) {
      this.changeError = `${this.ctrl.partnerName()} submitted before you saved your changes, so your answer stays as you first sent it.`;
      announce(this.changeError);
    }
    if (refocus) requestAnimationFrame(() => this.el.querySelector('[data-testid="edit-answer"]')?.focus());
  }

  /** Send the edited answer: `entry:submit` with a new client_id replaces the one sent. One
   *  client_id per revision, resent on a lost ack (the server answers a retry with the same). */
  async saveRevision(value) {
    if (this.changePending) return;
    this.changePending = true;
    this.revisionId = this.revisionId || newClientId();
    const payload = { session_id: this.ctrl.sessionId, step_id: this.id, client_id: this.revisionId };
    if (value.body !== null && value.body !== undefined) payload.body = value.body;
    if (value.fields !== null && value.fields !== undefined) payload.fields = value.fields;
    let result;
    for (let attempt = 0; ; attempt += 1) {
      result = await this.ctrl.conn.request('entry:submit', payload);
      if (result.ok || !isTransient(result.error) || attempt >= 2) break;
    }
    this.changePending = false;
    if (this.ctrl.destroyed) return;
    if (result.ok) {
      this.revising = false;
      this.revisionId = null;
      this.ctrl.local.delete(this.id);
      if (result.entry) this.ctrl.acked.set(this.id, result.entry);
      this.changeError = null;
      announce('Your answer is changed.');
    } else if (result.error.code === 'conflict') {
      this.revising = false;
      this.revisionId = null;
      this.ctrl.local.delete(this.id);
      this.changeError = result.error.message;
    } else {
      this.ctrl.submitErrors.set(this.id, result.error.message);
    }
    this.signature = null;
    this.ctrl.renderSteps();
    if (this.mode === 'sent') this.el.querySelector('[data-testid="submit-status"]')?.focus();
    else this.focusError();
  }

  /** "Take it back": the answer returns to this editor; the partner sees it as not submitted. */
  async withdraw() {
    if (this.changePending || !this.canChange()) return;
    this.changePending = true;
    this.changeError = null;
    this.ctrl.renderSteps();
    const result = await this.ctrl.conn.request('entry:withdraw', { session_id: this.ctrl.sessionId, step_id: this.id });
    this.changePending = false;
    if (this.ctrl.destroyed) return;
    if (result.ok) {
      this.ctrl.acked.delete(this.id);
      if (result.draft) this.ctrl.local.set(this.id, valuesFrom(result.draft));
      announce(`Your answer is back with you. ${this.ctrl.partnerName()} sees it as not submitted.`);
    } else this.changeError = result.error.message;
    this.signature = null;
    this.ctrl.renderSteps();
    if (result.ok && this.mode === 'edit' && this.widget) this.widget.focus();
    else this.el.querySelector('[data-testid="change-error"]')?.focus();
  }

  /** Under a submitted answer: "Edit my answer" and "Take it back", or why not any more. */
  changeControls() {
    const error = this.changeError
      ? h('p', { class: 'field-error', role: 'alert', tabIndex: -1, testid: 'change-error' }, this.changeError) : null;
    if (!this.canChange()) return error;
    return h('div', { class: 'change-answer', testid: 'change-answer' },
      h('p', { class: 'muted small' }, `Until ${this.ctrl.partnerName()} submits, you can still change your answer or take it back.`),
      h('div', { class: 'actions' },
        h('button', {
          type: 'button', class: 'secondary', testid: 'edit-answer', disabled: this.changePending,
          onclick: () => this.startRevising(),
        }, 'Edit my answer'),
        h('button', {
          type: 'button', class: 'link-button', testid: 'withdraw-answer', disabled: this.changePending,
          'aria-busy': this.changePending ? 'true' : undefined,
          onclick: () => this.withdraw(),
        }, this.changePending ? 'One moment…' : 'Take it back')),
      error);
  }

  get isLast() {
    return this.index === this.count - 1;
  }

  update(step, options) {
    this.draw(step, options);
    this.decorate();
  }

  /** The counsellor's marks on this step, first in it; a floor given to the other partner
   *  closes a structured step's controls (a disabled fieldset keeps them, and the words in
   *  them, on screen). */
  decorate() {
    const step = this.step;
    const state = this.ctrl.state;
    const moderation = state.moderation || {};
    const signature = JSON.stringify([moderation.focus_step_id === this.id, moderation.floor, step.status, step.flags,
      step.held, step.partner_status, Boolean(step.mine && step.mine.entry),
      step.id === state.session.current_step_id ? moderation.cards : null,
      this.ctrl.state.participants.map((p) => p.display_name)]);
    if (signature !== this.extrasSignature) {
      this.extrasSignature = signature;
      replaceChildren(this.extrasEl, stepExtras(this.ctrl, step));
    }
    this.el.classList.toggle('step-revisit', moderation.focus_step_id === this.id);
    if (this.el.firstChild !== this.extrasEl) this.el.prepend(this.extrasEl);
    if (this.lockEl) {
      const floor = floorFor(state, this.id);
      // Also closed once the session has ended: a step it stopped on takes no more moves.
      this.lockEl.disabled = Boolean((floor && floor.lockedOut && step.status !== 'done')
        || (this.finished && step.status !== 'done'));
    }
  }

  draw(step, { index, count, finished }) {
    this.step = step;
    this.kind = kindFor(step);
    this.index = index;
    this.count = count;
    this.finished = finished;
    const mode = this.modeFor(step, finished);
    if (mode === 'custom') {
      // A finished structured step folds away like every other done step (one line, "Read
      // again"), unless its kind folds itself (boundary, listening).
      const collapse = (step.status === 'done' || finished) && !SELF_FOLDING.has(step.kind);
      const changed = collapse !== Boolean(this.collapsed);
      this.collapsed = collapse;
      if (this.mode !== 'custom' || !this.custom) {
        if (this.mode === 'edit') this.leaveEdit();
        this.mode = 'custom';
        this.el.className = 'step step-custom';
        this.custom = this.kind.mount(step, this.kindContext());
        this.lockEl = h('fieldset', { class: 'floor-lock' }, this.custom.el);
      } else {
        this.custom.update(step);
      }
      if (changed || !this.el.contains(this.lockEl)) {
        replaceChildren(this.el, collapse ? this.foldCustom() : this.lockEl);
      } else if (collapse && this.foldEl && this.foldEl.open !== Boolean(this.userOpen)) {
        this.foldEl.open = Boolean(this.userOpen); // a counsellor brought it back (showRevisit)
      }
      this.el.classList.toggle('step-done', collapse);
      this.el.dataset.status = step.status;
      this.el.dataset.kind = step.kind;
      return;
    }
    if (this.mode === 'custom' && this.custom) {
      if (this.custom.destroy) this.custom.destroy();
      this.custom = null;
      this.lockEl = null;
      this.collapsed = false;
    }
    if (mode !== this.mode) {
      if (this.mode === 'edit') this.leaveEdit();
      this.mode = mode;
      this.signature = null;
      this.el.className = `step step-${mode}`;
      this.el.dataset.status = step.status;
      this.el.dataset.kind = step.kind;
      if (mode === 'edit') {
        this.buildEdit();
        this.signature = null;
        return;
      }
    }
    if (mode === 'edit') {
      this.patchEdit();
      return;
    }
    const partner = this.ctrl.partner();
    const signature = JSON.stringify([mode, finished, index, count, step, this.ctrl.conn.pending(this.id) ? this.ctrl.conn.status : null,
      this.ctrl.acked.get(this.id) || null, this.readyPending, this.readyError, this.ackPending, this.ackError,
      this.changePending, this.changeError, this.ctrl.state.session.status,
      this.ctrl.state.participants.map((p) => p.display_name),
      mode === 'sent' && partner ? [this.ctrl.isTyping(partner.user_id, this.id), this.ctrl.isAway(partner.user_id)] : null]);
    if (signature === this.signature) return;
    this.signature = signature;
    this.el.dataset.status = step.status;
    // A rebuild replaces the controls: keep keyboard focus on the same control if it is
    // still there (an acknowledgement button, say).
    const focused = this.el.contains(document.activeElement) ? document.activeElement.dataset.testid : null;
    if (mode === 'locked') this.buildLocked();
    else if (mode === 'info') this.buildInfo();
    else if (mode === 'sent') this.buildSent();
    else if (mode === 'observe') this.buildObserve();
    else if (mode === 'revealed') this.buildRevealed();
    else this.buildDone();
    if (focused) this.el.querySelector(`[data-testid="${focused}"]`)?.focus();
  }

  /** A done structured step inside the same fold as buildDone's; the kind's own drawing is
   *  what opens (its heading, which would repeat the summary line, is hidden by CSS). */
  foldCustom() {
    const details = h('details', { class: 'done-details', testid: 'step-done' },
      h('summary', null, h('span', { class: 'summary-text' },
        h('span', { class: 'step-number' }, `Step ${this.index + 1}`),
        h('span', { class: 'visually-hidden' }, ': '),
        h('span', { class: 'done-title' }, this.step.title))),
      this.lockEl);
    details.open = this.userOpen ?? false;
    details.addEventListener('toggle', () => { this.userOpen = details.open; });
    this.foldEl = details;
    return details;
  }

  /**
   * What a structured kind's `mount(step, ctx)` gets: the session around its step and the
   * shared controls. `turn(name, {body, fields})` sends `turn:submit` with one client_id
   * kept across its retries (an ack lost in flight is resent, never duplicated).
   */
  kindContext() {
    const view = this;
    const ctrl = this.ctrl;
    return {
      get state() { return ctrl.state; },
      get step() { return view.step; },
      get me() { return ctrl.state.viewer; },
      get partner() { return ctrl.partner(); },
      get index() { return view.index; },
      get isLast() { return view.isLast; },
      nameOf: (userId) => ctrl.nameOf(userId),
      isAway: (userId) => ctrl.isAway(userId),
      heading: (level) => view.heading(level),
      readyBlock: (options) => view.readyBlock(options || {
        label: view.isLast ? "I'm ready to finish" : 'Ready for the next step', testid: 'ready-button',
      }),
      announce,
      request: (event, payload) => ctrl.conn.request(event, { session_id: ctrl.sessionId, step_id: view.id, ...payload }),
      async turn(name, { body = null, fields = null, clientId = newClientId() } = {}) {
        for (let attempt = 0; ; attempt += 1) {
          const result = await ctrl.conn.request('turn:submit', {
            session_id: ctrl.sessionId, step_id: view.id, client_id: clientId, kind: name, body, fields,
          });
          if (result.ok || !isTransient(result.error) || attempt >= 2) return result;
        }
      },
      saveDraft: (body, fields) => ctrl.conn.saveDraft(view.id, body, fields),
      rerender: () => ctrl.renderSteps(),
      get paused() { return ctrl.isPaused(); },
      // The safety check's "Let's stop here for today": an ordinary break, with no reason.
      pause: () => ctrl.sendBreak('session:pause', {}),
    };
  }

  heading(level = 'h2') {
    return h(level, { class: 'step-title', tabIndex: -1 },
      h('span', { class: 'step-number' }, `Step ${this.index + 1}`),
      h('span', { class: 'visually-hidden' }, ': '),
      this.step.title);
  }

  focusHeading() {
    const heading = this.el.querySelector('.step-title');
    if (heading) heading.focus({ preventScroll: false });
  }

  focusError() {
    const error = this.el.querySelector('.field-error:not([hidden])');
    if (error) error.focus();
  }

  // ---- locked / info / done ------------------------------------------------------------

  buildLocked() {
    replaceChildren(this.el,
      h('p', { class: 'locked-line' },
        h('span', { class: 'step-number' }, `Step ${this.index + 1}`),
        h('span', { class: 'visually-hidden' }, ': '),
        h('span', { class: 'locked-title' }, this.step.title),
        h('span', { class: 'locked-note' }, this.ctrl.state.session.status !== 'active' ? ' · not reached' : ' · later')));
  }

  buildInfo() {
    replaceChildren(this.el,
      this.heading(),
      h('div', { class: 'info-body', testid: 'info-body' }, this.kind.body(this.step)),
      this.readyBlock({ label: this.isLast ? 'Finish' : 'Continue', testid: 'continue-button' }));
  }

  /** A finished step: collapsed, one click (or Enter) to read it again. */
  buildDone() {
    const step = this.step;
    const answered = this.kind.takesAnswer && step.answer;
    const details = h('details', { class: 'done-details', testid: 'step-done' },
      h('summary', null, h('span', { class: 'summary-text' },
        h('span', { class: 'step-number' }, `Step ${this.index + 1}`),
        h('span', { class: 'visually-hidden' }, ': '),
        h('span', { class: 'done-title' }, step.title))),
      answered
        ? [
          step.prompt ? h('p', { class: 'prompt' }, step.prompt) : null,
          step.revealed ? [this.revealColumns(), this.followup(), this.ackLines()] : this.ownOnly(),
        ]
        : h('div', { class: 'info-body' }, this.kind.body(step)));
    // Collapsed unless the reader opened it (their choice survives re-renders).
    details.open = this.userOpen ?? false;
    details.addEventListener('toggle', () => { this.userOpen = details.open; });
    replaceChildren(this.el, details);
  }

  ownOnly() {
    const entry = this.step.mine && this.step.mine.entry;
    if (!entry) return h('p', { class: 'muted' }, 'This step was not answered.');
    return h('div', { class: 'reveal' }, this.column(entry, 'reveal-mine', this.ctrl.state.viewer.user_id));
  }

  // ---- ready (info steps and revealed steps) -------------------------------------------

  readyBlock({ label, testid }) {
    const step = this.step;
    const me = this.ctrl.state.viewer.user_id;
    const partner = this.ctrl.partner();
    const ready = step.ready || [];
    const iAmReady = ready.includes(me);
    const partnerReady = partner && ready.includes(partner.user_id);
    const block = h('div', { class: 'ready-block', testid: 'ready-block' });
    if (this.ctrl.state.viewer.role !== 'partner') {
      block.append(h('p', { class: 'muted' }, 'The partners move on when they are both ready.'));
      return block;
    }
    if (!iAmReady && this.ctrl.isPaused()) {
      block.append(h('button', {
        type: 'button', class: 'primary is-disabled', testid, 'aria-disabled': 'true', 'aria-describedby': `ready-wait-${this.id}`,
      }, label), h('p', { class: 'submit-blocked', id: `ready-wait-${this.id}`, testid: 'ready-paused' },
        'On a break — you can move on together when you are both back.'));
    } else if (!iAmReady) {
      const button = h('button', {
        type: 'button', class: 'primary', testid, disabled: this.readyPending,
        onclick: () => this.sendReady(),
      }, this.readyPending ? 'One moment…' : label);
      block.append(button);
      if (partnerReady) {
        block.append(h('p', { class: 'ready-note', testid: 'partner-ready' },
          this.isLast ? `${partner.display_name} is ready to finish.` : `${partner.display_name} is ready to move on.`));
      }
    } else {
      const readyText = this.isLast ? "You're ready to finish." : "You're ready.";
      block.append(h('p', { class: 'ready-note', testid: 'waiting-ready' },
        partner && !partnerReady ? `${readyText} Waiting for ${partner.display_name}…` : readyText));
    }
    if (ready.length) {
      block.append(h('p', { class: 'ready-list', testid: 'ready-list' },
        'Ready: ', ready.map((uid) => this.ctrl.nameOf(uid)).join(', ')));
    }
    if (this.readyError) block.append(h('p', { class: 'field-error', role: 'alert', tabIndex: -1 }, this.readyError));
    return block;
  }

  async sendReady() {
    if (this.readyPending) return;
    this.readyPending = true;
    this.readyError = null;
    this.ctrl.renderSteps();
    const result = await this.ctrl.conn.ready(this.id);
    this.readyPending = false;
    if (!result.ok) this.readyError = result.error.message;
    this.signature = null;
    this.ctrl.renderSteps();
    if (!result.ok) this.focusError();
  }

  // ---- revealed --------------------------------------------------------------------------

  /** One person's answer: "Your answer" / "Ben's answer", or that they chose not to share. */
  column(entry, testid, userId) {
    const isMine = userId === this.ctrl.state.viewer.user_id;
    const name = isMine ? 'You' : (entry.display_name || this.ctrl.nameOf(userId));
    const title = isMine ? 'Your answer' : `${name}'s answer`;
    // No aria-label: a labelled <section> is a landmark, and several steps read again at
    // once would give identical "Your answer" landmarks (axe landmark-unique); the h3 names it.
    return h('section', {
      class: entry.skipped ? 'reveal-column skipped' : 'reveal-column', testid, 'data-user-id': userId || undefined,
    },
    h('h3', { class: 'reveal-name' }, title),
    entry.removed ? removedDisplay() : entry.skipped
      ? skippedDisplay(name, isMine)
      : this.kind.display(this.step, entry, { userId, name, isMine, compare: this.step.compare }));
  }

  revealColumns() {
    const me = this.ctrl.state.viewer.user_id;
    const entries = [...((this.step.revealed && this.step.revealed.entries) || [])];
    entries.sort((a, b) => (a.user_id === me ? -1 : b.user_id === me ? 1 : 0));
    return h('div', { class: 'reveal', testid: 'reveal' }, entries.map((entry) => (entry.user_id === me
      ? this.column(entry, 'reveal-mine', entry.user_id)
      : this.column(entry, 'reveal-partner', entry.user_id))));
  }

  followup() {
    const text = this.step.followup;
    if (!text) return null;
    return h('div', { class: 'followup', testid: 'followup' },
      h('p', null, h('strong', null, 'Talk about it together: '), text));
  }

  /** The partner's entry at the reveal, if they shared one (a skip has nothing to thank for). */
  partnerEntry() {
    const me = this.ctrl.state.viewer.user_id;
    const entries = (this.step.revealed && this.step.revealed.entries) || [];
    return entries.find((e) => e.user_id !== me) || null;
  }

  /** "Ana: I hear you", for every acknowledgement given on this step. */
  ackLines({ partnerOnly = false } = {}) {
    const me = this.ctrl.state.viewer.user_id;
    const acks = (this.step.acks || []).filter((a) => ACK_TEXT[a.ack] && (!partnerOnly || a.user_id !== me));
    if (!acks.length) return null;
    return h('ul', { class: 'ack-lines' }, acks.map((ack) => h('li', {
      class: 'ack-line', testid: ack.user_id === me ? 'my-ack' : 'partner-ack', 'data-ack': ack.ack,
    }, `${this.ctrl.nameOf(ack.user_id)}: ${ACK_TEXT[ack.ack]}`)));
  }

  /** Two toggle buttons to acknowledge what the partner shared; the pressed one is mine. */
  ackRow() {
    if (this.ctrl.state.viewer.role !== 'partner') return this.ackLines();
    const theirs = this.partnerEntry();
    const partnerAcks = this.ackLines({ partnerOnly: true });
    if (!theirs || theirs.skipped) return partnerAcks;
    const me = this.ctrl.state.viewer.user_id;
    const mine = (this.step.acks || []).find((a) => a.user_id === me);
    const name = theirs.display_name || this.ctrl.nameOf(theirs.user_id);
    const labelId = `ack-label-${this.id}`;
    return h('div', { class: 'ack-block' },
      h('div', { class: 'ack-row', role: 'group', 'aria-labelledby': labelId, testid: 'ack-row' },
        h('span', { class: 'ack-label', id: labelId }, `Let ${name} know you read it:`),
        Object.entries(ACK_TEXT).map(([key, text]) => {
          const pressed = this.ackPending ? this.ackPending === key : Boolean(mine && mine.ack === key);
          return h('button', {
            type: 'button', class: 'ack-button', testid: `ack-${key}`, 'aria-pressed': String(pressed),
            'aria-busy': this.ackPending === key ? 'true' : undefined,
            onclick: () => this.sendAck(key),
          }, text);
        })),
      this.ackError ? h('p', { class: 'field-error', role: 'alert', tabIndex: -1 }, this.ackError) : null,
      partnerAcks);
  }

  async sendAck(ack) {
    const mine = (this.step.acks || []).find((a) => a.user_id === this.ctrl.state.viewer.user_id);
    if (this.ackPending || (mine && mine.ack === ack)) return; // already said; nothing to change
    this.ackPending = ack;
    this.ackError = null;
    this.ctrl.renderSteps();
    const result = await this.ctrl.acknowledge(this.id, ack);
    this.ackPending = null;
    if (result.ok) announce(`Sent: ${ACK_TEXT[ack]}.`);
    else this.ackError = result.error.message;
    this.ctrl.renderSteps();
    if (!result.ok) this.focusError();
  }

  buildRevealed() {
    const entries = (this.step.revealed && this.step.revealed.entries) || [];
    const someSkipped = entries.some((e) => e.skipped);
    replaceChildren(this.el,
      this.heading(),
      this.step.prompt ? h('p', { class: 'prompt' }, this.step.prompt) : null,
      h('p', { class: 'reveal-intro' }, someSkipped
        ? "You've both responded. Here is where each of you is with this, side by side."
        : 'You both answered. Here are your answers side by side.'),
      this.revealColumns(),
      this.followup(),
      this.ackRow(),
      this.readyBlock({ label: this.isLast ? "I'm ready to finish" : 'Ready for the next step', testid: 'ready-button' }));
  }

  // ---- submitted, waiting for the partner -----------------------------------------------

  buildSent() {
    const step = this.step;
    const pending = this.ctrl.conn.pending(this.id);
    const entry = (step.mine && step.mine.entry) || this.ctrl.acked.get(this.id)
      || (pending && { ...pending, skipped: this.ctrl.pendingSkip(this.id) });
    const skipped = Boolean(entry && entry.skipped);
    const partner = this.ctrl.partnerName();
    let status;
    if (pending) {
      status = this.ctrl.conn.connected ? 'Sending…'
        : "Sending… You're not connected right now. Keep this page open: it goes as soon as you're back.";
    } else status = skipped ? 'Skipped' : 'Submitted';
    replaceChildren(this.el,
      this.heading(),
      step.prompt ? h('p', { class: 'prompt' }, step.prompt) : null,
      h('div', { class: 'reveal reveal-single' }, this.column(entry, 'my-answer', this.ctrl.state.viewer.user_id)),
      h('p', { class: pending ? 'submit-status sending' : 'submit-status sent', role: 'status', testid: 'submit-status' }, status),
      !pending && step.held && step.partner_status === 'submitted'
        ? h('p', { class: 'held-note', testid: 'held-note' },
          "Both answers are in. Your counsellor will show them when you're ready to talk.")
        : null,
      pending || (step.held && step.partner_status === 'submitted') ? null : h('p', { class: 'waiting-partner', testid: 'waiting-partner' },
        step.held
          ? `Waiting for ${partner} to finish. Your counsellor will show both answers when you're ready to talk.`
          : step.partner_status === 'submitted'
          ? `${partner} has submitted too. Showing your answers…`
          : skipped
            ? `Waiting for ${partner} to finish. They'll see that you chose not to share this yet.`
            : `Waiting for ${partner} to finish. Their answer stays private until you both submit.`),
      pending ? null : this.partnerLine(),
      pending ? null : this.changeControls());
  }

  /** Someone who doesn't answer (a counsellor): the prompt, and that answers are on the way. */
  buildObserve() {
    const step = this.step;
    replaceChildren(this.el,
      this.heading(),
      step.prompt ? h('p', { class: 'prompt' }, step.prompt) : null,
      step.hint ? h('p', { class: 'hint' }, step.hint) : null,
      h('p', { class: 'waiting-partner', testid: 'observe-note' }, step.held
        ? "You're holding these answers: they are shown to everyone when you release them (Your controls, above)."
        : 'The partners are answering privately. Their answers appear here once both have submitted.'),
      Array.isArray(step.submitted) ? h('p', { class: 'partner-status', testid: 'observe-submitted' }, submittedLine(this.ctrl, step)) : null);
  }

  partnerLine() {
    const text = this.partnerStatusText();
    return text ? h('p', { class: 'partner-status', testid: 'partner-status' }, text) : null;
  }

  partnerStatusText() {
    const step = this.step;
    const partner = this.ctrl.partner();
    if (!partner || !step.partner_status) return '';
    const name = partner.display_name;
    if (step.partner_status === 'submitted') return `${name} has submitted`;
    // Not here (presence says so): "is writing" would be a guess about someone who left.
    if (this.ctrl.isAway(partner.user_id)) {
      return step.partner_status === 'writing' ? `${name} is away — they've started their answer` : `${name} is away`;
    }
    if (step.partner_status === 'writing' || this.ctrl.isTyping(partner.user_id, this.id)) return `${name} is writing…`;
    return `${name} hasn't started`;
  }

  // ---- editing ---------------------------------------------------------------------------

  buildEdit() {
    const step = this.step;
    const ctrl = this.ctrl;
    const promptId = `prompt-${this.id}`;
    const hintId = `hint-${this.id}`;
    const blockedId = `blocked-${this.id}`;
    const values = ctrl.local.get(this.id) || valuesFrom(step.mine && step.mine.draft);
    this.dirty = false;
    this.confirmingSkip = false;
    this.floorLocked = false;
    this.widget = this.kind.editor(step, values, {
      labelledBy: promptId,
      describedBy: step.hint ? hintId : null,
      onChange: () => this.onInput(),
    });
    this.saveStatusEl = h('p', { class: 'save-status', testid: 'save-status' });
    const draft = step.mine && step.mine.draft;
    if (draft && draft.saved_at && !ctrl.local.has(this.id)) this.setSaveStatus('saved', draft.saved_at);
    this.partnerEl = h('p', { class: 'partner-status', testid: 'partner-status', 'aria-live': 'polite' });
    this.errorEl = h('p', { class: 'field-error', role: 'alert', tabIndex: -1, testid: 'submit-error', hidden: true });
    // aria-disabled, not disabled: the button stays reachable by Tab, and says why it is off.
    this.submitButton = h('button', {
      type: 'submit', class: 'primary', testid: 'submit-answer', 'aria-describedby': blockedId,
    }, this.revising ? 'Save my changes' : 'Submit my answer');
    this.blockedEl = h('p', { class: 'submit-blocked', id: blockedId, testid: 'submit-blocked', hidden: true });
    this.skipEl = this.revising ? this.reviseNote() : step.optional ? this.skipControls() : null;
    const form = h('form', { class: 'answer-form', novalidate: true, 'aria-labelledby': promptId },
      this.widget.el,
      h('div', { class: 'form-footer' }, this.saveStatusEl, this.partnerEl),
      this.errorEl,
      this.blockedEl,
      h('div', { class: 'actions' },
        this.submitButton,
        h('p', { class: 'muted small' }, step.held
          ? `Your answer stays private until ${ctrl.partnerName()} submits theirs too and your counsellor shows them.`
          : `Your answer stays private until ${ctrl.partnerName()} submits theirs too.`)),
      this.skipEl);
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.submit();
    });
    replaceChildren(this.el,
      this.heading(),
      h('p', { class: 'prompt', id: promptId }, step.prompt || step.title),
      step.hint ? h('p', { class: 'hint', id: hintId }, step.hint) : null,
      form);
    this.updateLimit();
    this.patchEdit();
  }

  /** While editing a submitted answer: it stands as sent until saved; or keep it as it was. */
  reviseNote() {
    return h('div', { class: 'revise-block', testid: 'revise-block' },
      h('p', { class: 'muted small' }, `Your answer stays as you sent it until you save. ${this.ctrl.partnerName()} sees it as submitted.`),
      h('button', {
        type: 'button', class: 'link-button', testid: 'keep-answer',
        onclick: () => {
          this.stopRevising(this.step, { refocus: true });
          this.ctrl.renderSteps();
        },
      }, 'Keep my answer as it was'));
  }

  /** "I'd rather not share this yet", with a light confirmation in place. */
  skipControls() {
    const partner = this.ctrl.partnerName();
    const confirmId = `skip-confirm-${this.id}`;
    const skipButton = h('button', {
      type: 'button', class: 'link-button skip-button', testid: 'skip-answer',
      'aria-expanded': 'false', 'aria-controls': confirmId,
    }, "I'd rather not share this yet");
    const message = h('p', { class: 'skip-question', tabIndex: -1 });
    const confirm = h('div', { class: 'skip-confirm', id: confirmId, role: 'group', 'aria-label': 'Skip this step?', testid: 'skip-confirm', hidden: true },
      message,
      h('div', { class: 'skip-confirm-actions' },
        h('button', { type: 'button', class: 'secondary', testid: 'confirm-skip', onclick: () => this.skip() }, 'Yes, skip this step'),
        h('button', { type: 'button', class: 'link-button', testid: 'cancel-skip', onclick: () => close(true) }, 'Keep answering')));
    const open = () => {
      this.confirmingSkip = true;
      const written = !this.widget.isEmpty();
      message.textContent = `Skip this step? ${partner} will see that you chose not to share this yet.`
        + (written ? ' What you have written here will be cleared, not shared.' : '');
      confirm.hidden = false;
      skipButton.setAttribute('aria-expanded', 'true');
      message.focus();
    };
    const close = (refocus) => {
      this.confirmingSkip = false;
      confirm.hidden = true;
      skipButton.setAttribute('aria-expanded', 'false');
      if (refocus) skipButton.focus();
    };
    skipButton.addEventListener('click', () => (this.confirmingSkip ? close(false) : open()));
    confirm.addEventListener('keydown', (event) => {
      if (event.key === 'Escape') {
        event.preventDefault();
        close(true);
      }
    });
    return h('div', { class: 'skip-block' },
      h('p', { class: 'muted small skip-note' }, 'This step is optional.'),
      skipButton, confirm);
  }

  skip() {
    if (this.mode !== 'edit') return;
    this.ctrl.submitErrors.delete(this.id);
    this.ctrl.local.delete(this.id);
    clearTimeout(this.draftTimer);
    clearTimeout(this.retryTimer);
    this.stopTyping();
    this.dirty = false;
    const hadFocus = this.el.contains(document.activeElement);
    this.ctrl.submitSkip(this.id); // renders the "Sending…" view through onOutbox
    announce('You chose not to share this step yet.');
    if (hadFocus) this.focusHeading();
  }

  patchEdit() {
    this.updateLimit();
    const text = this.partnerStatusText();
    if (this.partnerEl.textContent !== text) this.partnerEl.textContent = text;
    const error = this.ctrl.submitErrors.get(this.id) || '';
    if (this.errorEl.textContent !== error) {
      this.errorEl.textContent = error;
      this.errorEl.hidden = !error;
    }
  }

  /** Over the limit: the submit button is off (with the reason) and no draft is sent. */
  /** The counsellor gave the floor to the other partner: "…given the floor to Sam", or null. */
  floorClosed() {
    const floor = floorFor(this.ctrl.state, this.id);
    return floor && floor.lockedOut
      ? `${FLOOR_CLOSED} ${this.ctrl.nameOf(floor.holder)}. Your words are kept; you can send them when the floor opens again.`
      : null;
  }

  updateLimit() {
    const problem = this.widget.problem();
    const paused = this.ctrl.isPaused();
    const floor = this.floorClosed();
    if (Boolean(floor) !== Boolean(this.floorLocked)) {
      this.floorLocked = Boolean(floor);
      this.widget.setDisabled(this.floorLocked);
    }
    const blocked = problem || paused || floor;
    this.submitButton.setAttribute('aria-disabled', blocked ? 'true' : 'false');
    this.submitButton.classList.toggle('is-disabled', Boolean(blocked));
    // Over the limit the line under the box is the one message (js/limits.js): the button
    // points at it rather than saying it again, and the save status falls silent.
    // (A widget of several boxes, like the check-in's, has one such line per box.)
    const reasonId = problem
      ? (this.el.querySelector('.counter.over-limit')?.id || this.widget.counterId || null) : null;
    this.submitButton.setAttribute('aria-describedby', reasonId || this.blockedEl.id);
    const waiting = paused ? BREAK_WAIT : (floor || '');
    this.blockedEl.hidden = !waiting;
    this.blockedEl.textContent = waiting;
    if (problem) this.setSaveStatus('over-limit');
    else if (this.saveStatusEl && this.saveStatusEl.dataset.state === 'over-limit') this.setSaveStatus('editing');
    return problem;
  }

  onInput() {
    this.ctrl.local.set(this.id, this.widget.getValue());
    this.dirty = true;
    if (this.ctrl.submitErrors.has(this.id)) {
      this.ctrl.submitErrors.delete(this.id);
      this.patchEdit();
    }
    const problem = this.updateLimit();
    if (!this.draftInFlight && !problem) this.setSaveStatus('editing');
    clearTimeout(this.draftTimer);
    if (!problem) this.draftTimer = setTimeout(() => this.saveDraft(), DRAFT_DEBOUNCE_MS);
    this.noteTyping();
  }

  noteTyping() {
    if (!this.typing) {
      this.typing = true;
      this.ctrl.conn.setTyping(this.id, true);
    }
    clearTimeout(this.typingTimer);
    this.typingTimer = setTimeout(() => this.stopTyping(), TYPING_IDLE_MS);
  }

  stopTyping() {
    clearTimeout(this.typingTimer);
    if (this.typing) {
      this.typing = false;
      this.ctrl.conn.setTyping(this.id, false);
    }
  }

  setSaveStatus(kind, savedAt, message) {
    if (!this.saveStatusEl) return;
    this.saveStatusEl.dataset.state = kind;
    let text = '';
    if (kind === 'saving') text = 'Saving…';
    else if (kind === 'saved') text = savedAt ? `Saved ${formatTime(savedAt)}` : 'Saved';
    else if (kind === 'retry') {
      // One honest line: not saved, and what happens next. The connection line says why.
      text = this.ctrl.conn.connected ? 'Not saved yet — trying again' : 'Not saved yet — waiting for the connection';
      if (this.saveStatusEl.textContent !== text) announce("Your draft isn't saved yet. Keep this page open.");
    } else if (kind === 'error') text = `Not saved: ${message}`;
    // 'over-limit' shows nothing here: the one message under the box says it can't be saved.
    this.saveStatusEl.textContent = text;
  }

  async saveDraft() {
    clearTimeout(this.draftTimer);
    clearTimeout(this.retryTimer);
    if (this.mode !== 'edit' || !this.dirty || this.revising) return; // revising: the answer stands
    if (this.draftInFlight) return; // the ack handler sends again if still dirty
    // Over the limit the server would refuse it (too_large): keep it here, send nothing.
    if (this.widget.problem()) return;
    const value = this.widget.getValue();
    this.dirty = false;
    this.draftInFlight = true;
    this.setSaveStatus('saving');
    const result = await this.ctrl.conn.saveDraft(this.id, value.body, value.fields);
    this.draftInFlight = false;
    if (this.mode !== 'edit' || this.ctrl.destroyed) return;
    if (result.ok) {
      if (this.dirty) {
        if (!this.widget.problem()) {
          this.setSaveStatus('editing');
          this.draftTimer = setTimeout(() => this.saveDraft(), DRAFT_DEBOUNCE_MS);
        }
      } else this.setSaveStatus('saved', result.saved_at);
      return;
    }
    this.dirty = true; // what we tried to save still isn't saved
    if (isTransient(result.error) || result.error.code === 'internal' || result.error.code === 'rate_limited') {
      this.setSaveStatus('retry');
      if (this.ctrl.conn.connected) this.retryTimer = setTimeout(() => this.saveDraft(), DRAFT_RETRY_MS);
      // otherwise onReconnected() retries
    } else {
      this.setSaveStatus('error', null, result.error.message);
      // The database was out of reach: the server's sentence is shown, and the draft, which
      // is fine, goes again by itself (a reconnect sends it too).
      if (result.error.code === 'unavailable' && this.ctrl.conn.connected) {
        this.retryTimer = setTimeout(() => this.saveDraft(), DRAFT_RETRY_MS);
      }
    }
  }

  onReconnected() {
    if (this.mode === 'edit' && this.dirty) this.saveDraft();
    this.typing = false;
  }

  submit() {
    if (this.mode !== 'edit') return;
    if (this.ctrl.isPaused()) {
      this.ctrl.submitErrors.set(this.id, BREAK_WAIT);
      this.patchEdit();
      this.saveDraft();
      return;
    }
    const floor = this.floorClosed();
    if (floor) {
      this.ctrl.submitErrors.set(this.id, floor);
      this.patchEdit();
      return;
    }
    const value = this.widget.getValue();
    if (this.widget.problem()) {
      // Already said under the box: take the keyboard there (which says it again to a
      // screen reader) rather than stacking a second message.
      this.ctrl.submitErrors.delete(this.id);
      this.patchEdit();
      this.widget.focus();
      return;
    }
    if (this.widget.isEmpty()) {
      this.ctrl.submitErrors.set(this.id, this.kind.emptyMessage(this.step));
      this.patchEdit();
      this.widget.focus();
      return;
    }
    this.ctrl.submitErrors.delete(this.id);
    this.ctrl.local.set(this.id, value);
    clearTimeout(this.draftTimer);
    clearTimeout(this.retryTimer);
    this.stopTyping();
    this.dirty = false;
    if (this.revising) {
      this.saveRevision(value); // replaces the submitted answer (not the outbox: it holds firsts)
      return;
    }
    const hadFocus = this.el.contains(document.activeElement);
    this.ctrl.conn.submit(this.id, value); // renders the "Sending…" view through onOutbox
    if (hadFocus) this.el.querySelector('[data-testid="submit-status"]')?.focus?.();
    if (hadFocus && (document.activeElement === document.body || !document.activeElement)) this.focusHeading();
  }

  leaveEdit() {
    clearTimeout(this.draftTimer);
    clearTimeout(this.retryTimer);
    this.stopTyping();
    this.dirty = false;
    this.saveStatusEl = null;
  }

  isDirty() {
    return this.mode === 'edit' && (this.dirty || this.draftInFlight);
  }

  /** Send an unsaved draft now (leaving the page). */
  flush() {
    if (this.mode === 'edit' && this.dirty && this.ctrl.conn.connected) this.saveDraft();
    this.stopTyping();
  }

  destroy() {
    clearTimeout(this.draftTimer);
    clearTimeout(this.retryTimer);
    clearTimeout(this.typingTimer);
  }
}
