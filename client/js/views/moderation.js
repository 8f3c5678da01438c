// The counsellor in a session (issue 7), drawn for each role from the server's view:
//   partners   invite a counsellor / agree / not now, the persistent "your counsellor can
//              see…" notice and "Remove counsellor", private messages from the counsellor
//   counsellor the moderation panel: move on or choose the next step, bring back a finished
//              step, hold / preview / release the answers, give the floor, a reframe card or
//              a question, end the session; private notes and messages; a check-in with each
//              partner (the same words to both, privately), which a safety flag asks for
//   everyone   the Activity panel (the audit trail, in plain words)
// and, per step (StepView asks `stepExtras`): the step brought back, the floor, reframe cards.
//
// Everything here is drawn from `state.counsellor`, `state.moderation`, `state.audit` and
// `state.notes`; the only local state is what is being typed, open confirmations, the invite
// code this browser just created (the view never carries codes) and requests in flight.
// The server checks every role: hiding a button here is a convenience, never the check.

import { h, replaceChildren, announce, formatTime, formatDate, copyText } from '../dom.js';
import { api } from '../api.js';
import { isTransient, newClientId } from '../socket.js';
import { kindFor } from '../kinds/index.js';
import { skippedDisplay } from './answers.js';

// What a counsellor receives, as server/engine/visibility.py and each kind's projection
// send it (tests/unit/test_counsellor_copy.py holds these words to that behaviour).
const WILL_SEE = [
  'The answers you both submit, once they are shown to you both (or, when they hold a step, to preview before they show it).',
  'Your check-ins in this session, with their numbers, even numbers either of you keeps from the other.',
  'What you write in turns: listening and boundaries; in an apology, what the hurt partner says, what each of you says back, and the answer.',
  'Who is here, which step you are on, and when one of you asks for a break.',
];
const WONT_SEE = [
  "Drafts: nothing you haven't submitted.",
  'The apology itself: its parts go only to the partner it is for (what will change is kept as a commitment, which they do see).',
  'Your answers to the private check. If a check suggests it, they are told only to check in with each of you privately, never who.',
  'Your other sessions, the check-in chart on your home page, or anything outside this session.',
];
const CAN_DO = 'They can hold answers until you are ready to talk about them, give one of you the floor, add a question or a card, pause the session or end it. Everything they do is listed under Activity, and either of you can remove them at any time.';

/** Everything a session screen draws about the counsellor, outside the steps. */
export class ModerationArea {
  constructor(ctrl) {
    this.ctrl = ctrl;
    this.topEl = h('div', { class: 'counsellor-area', testid: 'counsellor-area' });
    this.messagesEl = h('div', { class: 'messages-area' });
    this.activityEl = h('div', { class: 'activity-area' });
    this.invite = null; // {invite_code, expires_at, link}: the code this browser created
    this.inviteOpen = false;
    this.confirmingRemove = false;
    this.pending = null; // the name of the request in flight
    this.error = null;
    this.activityOpen = false;
    this.panel = null; // the counsellor's ModerationPanel
    this.signature = null;
  }

  get state() { return this.ctrl.state; }

  render(previous) {
    const state = this.state;
    if (!state) return;
    if (state.viewer.role === 'counsellor') {
      if (!this.panel) {
        this.panel = new ModerationPanel(this.ctrl);
        replaceChildren(this.topEl, this.panel.el);
      }
      this.panel.render();
    } else {
      this.renderPartner();
      this.renderMessages(previous);
    }
    this.renderActivity();
    if (previous) this.announceChanges(previous, state);
  }

  // ---- partners --------------------------------------------------------------------------

  renderPartner() {
    const state = this.state;
    const c = state.counsellor || {};
    const signature = JSON.stringify([c, state.session.status, state.participants, this.invite, this.inviteOpen,
      this.confirmingRemove, this.pending, this.error]);
    if (signature === this.signature) return;
    this.signature = signature;
    const focused = this.topEl.contains(document.activeElement) ? document.activeElement.dataset.testid : null;
    let content = null;
    if (c.present) content = this.presentCard(c);
    else if (c.invite) content = this.inviteCard(c.invite);
    else if (state.session.status === 'active') content = this.inviteStarter();
    replaceChildren(this.topEl, content);
    if (focused) {
      const again = this.topEl.querySelector(`[data-testid="${focused}"]`);
      if (again) again.focus({ preventScroll: true });
      else this.topEl.querySelector('.counsellor-heading')?.focus({ preventScroll: true });
    }
  }

  errorLine() {
    return this.error ? h('p', { class: 'field-error', role: 'alert', testid: 'counsellor-error' }, this.error) : null;
  }

  async call(name, fn) {
    if (this.pending) return null;
    this.pending = name;
    this.error = null;
    this.renderPartner();
    let result = null;
    try {
      result = await fn();
    } catch (error) {
      this.error = error.message;
    }
    this.pending = null;
    if (!this.ctrl.destroyed) this.renderPartner();
    if (this.error) this.topEl.querySelector('[data-testid="counsellor-error"]')?.focus?.();
    return result;
  }

  path(suffix) {
    return `/sessions/${encodeURIComponent(this.ctrl.sessionId)}${suffix}`;
  }

  /** Present: who they are, what they can see (persistent), and the way to remove them. */
  presentCard(c) {
    const name = c.present.display_name;
    const children = [
      h('h2', { id: 'counsellor-heading', class: 'counsellor-heading', tabIndex: -1 }, `${name} is here as your counsellor`),
      c.present.joined_at ? h('p', { class: 'muted small' }, `Joined at ${formatTime(c.present.joined_at)}`) : null,
      h('p', { testid: 'counsellor-notice-text' }, c.notice),
    ];
    if (this.state.session.status === 'active') {
      if (!this.confirmingRemove) {
        children.push(h('button', {
          type: 'button', class: 'secondary', testid: 'remove-counsellor',
          onclick: () => { this.confirmingRemove = true; this.renderPartner(); this.topEl.querySelector('[data-testid="remove-question"]')?.focus(); },
        }, 'Remove counsellor'));
      } else {
        children.push(h('div', { class: 'confirm-box', role: 'group', 'aria-label': 'Remove the counsellor?' },
          h('p', { tabIndex: -1, testid: 'remove-question' },
            `Remove ${name} from this session? They leave at once and can no longer see it.`),
          h('div', { class: 'confirm-actions' },
            h('button', {
              type: 'button', class: 'primary', testid: 'confirm-remove-counsellor', disabled: Boolean(this.pending),
              onclick: () => this.remove(`${name} has left the session.`),
            }, 'Yes, remove them'),
            h('button', {
              type: 'button', class: 'link-button', testid: 'cancel-remove-counsellor',
              onclick: () => { this.confirmingRemove = false; this.renderPartner(); this.topEl.querySelector('[data-testid="remove-counsellor"]')?.focus(); },
            }, 'Keep them'))));
      }
    }
    children.push(this.errorLine());
    return h('section', { class: 'card counsellor-notice', testid: 'counsellor-notice', 'aria-labelledby': 'counsellor-heading' }, children);
  }

  async remove(message) {
    const result = await this.call('remove', () => api.del(this.path('/counsellor'), {}));
    this.confirmingRemove = false;
    if (result) {
      this.invite = null;
      announce(message);
    }
    this.signature = null;
    this.renderPartner();
  }

  /** No counsellor yet: "Invite a counsellor", which first says what that means. */
  inviteStarter() {
    const panelId = 'counsellor-invite-panel';
    const toggle = h('button', {
      type: 'button', class: 'link-button invite-counsellor', testid: 'invite-counsellor',
      'aria-expanded': String(this.inviteOpen), 'aria-controls': panelId,
      onclick: () => {
        this.inviteOpen = !this.inviteOpen;
        this.error = null;
        this.renderPartner();
        if (this.inviteOpen) this.topEl.querySelector('#counsellor-invite-title')?.focus();
      },
    }, 'Invite a counsellor');
    if (!this.inviteOpen) return h('div', { class: 'counsellor-starter' }, toggle,
      h('span', { class: 'muted small' }, ' Work through this session with a counsellor you both trust.'));
    return h('div', { class: 'counsellor-starter' }, toggle,
      h('section', { class: 'card counsellor-invite', id: panelId, testid: 'counsellor-invite-panel', 'aria-labelledby': 'counsellor-invite-title' },
        h('h2', { id: 'counsellor-invite-title', tabIndex: -1 }, 'Invite a counsellor'),
        h('p', null, `A counsellor joins from their own device, with a code you send them, and only once you and ${this.ctrl.partnerName()} have both agreed.`),
        seeLists(),
        h('p', null, CAN_DO),
        h('div', { class: 'confirm-actions' },
          h('button', {
            type: 'button', class: 'primary', testid: 'create-counsellor-invite', disabled: Boolean(this.pending),
            onclick: () => this.createInvite(),
          }, this.pending === 'invite' ? 'Creating…' : 'Create an invite'),
          h('button', {
            type: 'button', class: 'link-button', testid: 'cancel-counsellor-invite-panel',
            onclick: () => { this.inviteOpen = false; this.renderPartner(); this.topEl.querySelector('[data-testid="invite-counsellor"]')?.focus(); },
          }, 'Not now')),
        this.errorLine()));
  }

  async createInvite() {
    const result = await this.call('invite', () => api.post(this.path('/counsellor-invite'), {}));
    if (!result) return;
    this.invite = result;
    this.inviteOpen = false;
    announce(`Invite created. ${this.ctrl.partnerName()} is asked to agree.`);
    this.signature = null;
    this.renderPartner();
    this.topEl.querySelector('[data-testid="counsellor-invite-code"]')?.focus();
  }

  /** An invite waiting: the inviter's code to send, or the other partner's question. */
  inviteCard(invite) {
    const me = this.state.viewer.user_id;
    const inviter = this.ctrl.nameOf(invite.invited_by);
    const mine = invite.invited_by === me;
    const iMustAgree = invite.waiting_for.includes(me);
    const children = [];
    if (iMustAgree) {
      children.push(
        h('h2', { id: 'counsellor-heading', class: 'counsellor-heading', tabIndex: -1, testid: 'counsellor-consent-title' },
          `${inviter} would like to invite a counsellor`),
        h('p', null, 'A counsellor joins this session only if you agree too. Here is what that means:'),
        seeLists(),
        h('p', null, CAN_DO),
        h('div', { class: 'confirm-actions' },
          h('button', {
            type: 'button', class: 'primary', testid: 'agree-counsellor', disabled: Boolean(this.pending),
            onclick: () => this.agree(),
          }, 'Agree'),
          h('button', {
            type: 'button', class: 'secondary', testid: 'decline-counsellor', disabled: Boolean(this.pending),
            onclick: () => this.remove(`You said not now. ${inviter}'s invite is cancelled.`),
          }, 'Not now')));
    } else {
      const waiting = invite.waiting_for.map((uid) => this.ctrl.nameOf(uid));
      children.push(h('h2', { id: 'counsellor-heading', class: 'counsellor-heading', tabIndex: -1 },
        mine ? 'You invited a counsellor' : `${inviter} invited a counsellor, and you agreed`));
      children.push(h('p', { testid: 'counsellor-invite-status' }, waiting.length
        ? `Waiting for ${waiting.join(' and ')} to agree. The counsellor can join only once you both have.`
        : 'You have both agreed. The counsellor can join with the invite code.'));
      // Only this invite's own code: a push can show the new invite before the answer to
      // our request (with its code) arrives, while this.invite still holds a cancelled one.
      if (mine && this.invite && this.invite.expires_at === invite.expires_at) {
        children.push(inviteCodeBlock(this.invite));
      } else if (mine) {
        children.push(h('p', { class: 'muted small' },
          'The code was shown when you created the invite. If you no longer have it, cancel this invite and create a new one.'));
      }
      if (invite.expires_at) {
        children.push(h('p', { class: 'muted small' }, `The invite works until ${formatDate(invite.expires_at)}, ${formatTime(invite.expires_at)}.`));
      }
      children.push(h('button', {
        type: 'button', class: 'link-button', testid: 'cancel-counsellor-invite', disabled: Boolean(this.pending),
        onclick: () => this.remove('The counsellor invite is cancelled.'),
      }, 'Cancel the invite'));
    }
    children.push(this.errorLine());
    return h('section', { class: 'card counsellor-invite', testid: 'counsellor-invite', 'aria-labelledby': 'counsellor-heading' }, children);
  }

  async agree() {
    const result = await this.call('agree', () => api.post(this.path('/counsellor-consent'), {}));
    if (result) announce('You agreed. The counsellor can join now.');
  }

  /** The counsellor's private messages to this partner: only ever in their own view. A
   * check-in reads the same for both partners: each has their own copy of the same words. */
  renderMessages(previous) {
    const notes = (this.state.notes || []).filter((n) => !n.private);
    const signature = JSON.stringify(notes);
    if (signature === this.messagesSignature) return;
    this.messagesSignature = signature;
    if (!notes.length) {
      replaceChildren(this.messagesEl);
      return;
    }
    if (previous) {
      const seen = new Set((previous.notes || []).map((n) => n.id));
      const fresh = notes.filter((n) => !seen.has(n.id));
      const last = fresh[fresh.length - 1];
      if (last) {
        const from = this.ctrl.nameOf(last.from_user_id);
        announce(isCheckin(last)
          ? `${from} checked in with each of you privately: ${last.body}`
          : `A private message from ${from}: ${last.body}`);
      }
    }
    const anyCheckin = notes.some(isCheckin);
    replaceChildren(this.messagesEl, h('section', { class: 'card counsellor-messages', testid: 'counsellor-messages', 'aria-labelledby': 'messages-title' },
      h('h2', { id: 'messages-title' }, 'Messages from your counsellor'),
      h('p', { class: 'muted small' }, anyCheckin
        ? 'Only you can see these. A check-in goes to each of you, privately, in the same words.'
        : 'Only you can see these.'),
      h('ul', { class: 'note-list' }, notes.map((n) => h('li', { class: 'note', testid: 'counsellor-message', 'data-checkin': String(isCheckin(n)) },
        h('p', { class: 'note-meta' }, isCheckin(n)
          ? `${this.ctrl.nameOf(n.from_user_id)} · ${formatTime(n.at)} · a check-in with each of you`
          : `${this.ctrl.nameOf(n.from_user_id)} · ${formatTime(n.at)}`),
        h('p', { class: 'note-body' }, n.body))))));
  }

  // ---- everyone: the audit trail ---------------------------------------------------------

  renderActivity() {
    const audit = this.state.audit || [];
    const signature = JSON.stringify([audit, this.state.participants, this.state.steps.map((s) => s.title)]);
    if (signature === this.activitySignature) return;
    this.activitySignature = signature;
    if (!audit.length) {
      replaceChildren(this.activityEl);
      return;
    }
    const details = h('details', { class: 'card activity', testid: 'activity', open: this.activityOpen },
      h('summary', null, h('span', { class: 'activity-title' }, `Activity (${audit.length})`),
        h('span', { class: 'muted small' }, ' · who did what, and when')),
      h('p', { class: 'muted small' },
        'Everything a counsellor does here, and every time they read your answers, is listed for both of you. Never what anyone wrote.'),
      h('ol', { class: 'activity-list' }, [...audit].reverse().map((event) => h('li', { testid: 'activity-item', 'data-action': event.action },
        h('time', { datetime: event.at }, formatTime(event.at)), ' ', activityText(event, this.state)))));
    details.addEventListener('toggle', () => { this.activityOpen = details.open; });
    replaceChildren(this.activityEl, details);
  }

  announceChanges(previous, state) {
    const before = previous.counsellor || {};
    const now = state.counsellor || {};
    const me = state.viewer.user_id;
    if (state.viewer.role !== 'partner') return;
    if (!before.present && now.present) announce(`${now.present.display_name}, your counsellor, has joined. ${now.notice}`);
    else if (before.present && !now.present) announce(`${before.present.display_name} is no longer in this session.`);
    if (!before.invite && now.invite && now.invite.invited_by !== me) {
      announce(`${this.ctrl.nameOf(now.invite.invited_by)} would like to invite a counsellor. You can agree or say not now.`);
    }
    const floorBefore = (previous.moderation || {}).floor;
    const floor = (state.moderation || {}).floor;
    if (JSON.stringify(floorBefore) !== JSON.stringify(floor)) {
      if (floor && floor.user_id === me) announce('Your counsellor has given you the floor.');
      else if (floor) announce(`Your counsellor has given the floor to ${this.ctrl.nameOf(floor.user_id)}.`);
      else if (floorBefore) announce('Your counsellor has opened the floor again.');
    }
    const cardsBefore = new Set(((previous.moderation || {}).cards || []).map((c) => c.id));
    for (const card of (state.moderation || {}).cards || []) {
      if (!cardsBefore.has(card.id)) announce(`A card from your counsellor: ${card.body}`);
    }
  }
}

function seeLists() {
  return h('div', { class: 'see-lists' },
    h('div', null, h('h3', null, 'They will see'), h('ul', null, WILL_SEE.map((t) => h('li', null, t)))),
    h('div', null, h('h3', null, 'They won’t see'), h('ul', null, WONT_SEE.map((t) => h('li', null, t)))));
}

function inviteCodeBlock(invite) {
  const link = new URL(invite.link || `/counsellor/join/${invite.invite_code}`, location.origin).href;
  const status = h('span', { class: 'copy-status', role: 'status', testid: 'counsellor-copy-status' });
  const input = h('input', {
    id: 'counsellor-invite-link', type: 'text', readOnly: true, value: link, testid: 'counsellor-invite-link',
    onfocus: (event) => event.target.select(),
  });
  const copy = async () => {
    const copied = await copyText(link, input);
    status.textContent = copied ? 'Link copied' : 'Select the link and copy it';
  };
  return h('div', { class: 'invite' },
    h('p', null, 'Send your counsellor this code, or the link. It works once.'),
    h('p', { class: 'invite-code-line' },
      h('span', { class: 'label' }, 'Counsellor code'),
      h('code', { class: 'invite-code', testid: 'counsellor-invite-code', tabIndex: -1 }, invite.invite_code)),
    h('div', { class: 'field' },
      h('label', { for: 'counsellor-invite-link' }, 'Counsellor link'),
      h('div', { class: 'copy-row' }, input,
        h('button', { type: 'button', class: 'secondary', testid: 'copy-counsellor-invite', onclick: copy }, 'Copy link'))),
    status);
}

// ---- the audit trail in plain words -----------------------------------------------------

function stepTitle(state, stepId) {
  const step = stepId && state.steps.find((s) => s.id === stepId);
  return step ? `“${step.title}”` : 'a step';
}

function personName(state, userId, { subject = false } = {}) {
  if (!userId) return 'someone';
  if (userId === state.viewer.user_id) return subject ? 'You' : 'you';
  const person = state.participants.find((p) => p.user_id === userId);
  return person ? person.display_name : 'the counsellor';
}

/** A copy of a check-in (`checkin:private`): its client_id is `checkin:<group>:<tag>`. */
export function isCheckin(note) {
  return typeof note.client_id === 'string' && note.client_id.startsWith('checkin:');
}

/** The counsellor's view says a private check asks for a check-in (never who). */
function isFlagged(state) {
  return Boolean(state && state.check && state.check.flag);
}

function checkinGroup(note) {
  return note.client_id.slice(0, note.client_id.lastIndexOf(':'));
}

/** "Jo (counsellor) held the answers to “What trust means”". */
export function activityText(event, state) {
  const me = state.viewer.user_id;
  let actor;
  if (!event.actor_id) actor = 'Mend';
  else if (event.actor_id === me) actor = 'You';
  else actor = event.actor_role === 'counsellor' ? `${event.actor_name} (counsellor)` : event.actor_name;
  const step = stepTitle(state, event.step_id);
  const target = personName(state, event.target_user_id);
  const says = {
    counsellor_invited: 'invited a counsellor',
    counsellor_consented: 'agreed to a counsellor joining',
    counsellor_joined: 'joined as your counsellor',
    counsellor_removed: 'removed the counsellor',
    counsellor_access_revoked: 'ended the counsellor’s access (their counsellor role was withdrawn)',
    counsellor_invite_cancelled: 'cancelled the counsellor invite',
    step_advanced: `moved the session on from ${step}`,
    step_revisited: `brought back ${step} to talk about`,
    revisit_closed: 'closed the step brought back for discussion',
    reveal_held: `held the answers to ${step} until you are ready to talk`,
    reveal_released: `released the answers to ${step}`,
    answers_previewed: `read the answers to ${step} before showing them`,
    answers_shown: `saw the answers to ${step} as they were shown`,
    floor_given: `gave the floor to ${target} on ${step}`,
    floor_opened: `opened the floor again on ${step}`,
    card_shown: `showed a card on ${step}`,
    prompt_added: `added a question: ${step}`,
    session_ended: 'ended the session',
    note_written: 'wrote a private note (only the counsellor sees notes)',
    message_sent: `sent a private message to ${target}`,
    checked_in: state.viewer.role === 'counsellor' ? 'checked in with each partner privately' : 'checked in with each of you privately',
    session_paused: 'paused the session',
    session_resumed: 'resumed the session',
    opened: 'opened the session and could read what is shown there',
    read_summary: 'read the session summary',
  }[event.action] || event.action.replace(/_/g, ' ');
  return `${actor} ${says}.`;
}

// ---- per step ----------------------------------------------------------------------------

/** The floor on this step, from this viewer: {holder, lockedOut} (lockedOut: not theirs). */
export function floorFor(state, stepId) {
  const floor = state && state.moderation && state.moderation.floor;
  if (!floor || floor.step_id !== stepId || !floor.user_id) return null;
  return {
    holder: floor.user_id,
    lockedOut: state.viewer.role === 'partner' && floor.user_id !== state.viewer.user_id,
  };
}

/** What the counsellor put on this step: brought back, the floor, reframe cards. */
export function stepExtras(ctrl, step) {
  const state = ctrl.state;
  const moderation = (state && state.moderation) || {};
  const parts = [];
  const isPartner = state.viewer.role === 'partner';
  if (moderation.focus_step_id === step.id) {
    parts.push(h('p', { class: 'step-flag revisit-note', testid: 'revisit-note' }, isPartner
      ? 'Your counsellor brought this step back to talk about together.'
      : 'You brought this step back for the three of you to talk about.'));
  }
  const kind = kindFor(step);
  if (isPartner && step.held && step.status !== 'revealed' && (kind.mount || step.status === 'done')) {
    // (A plain answered step says this in its own "sent" view.)
    const both = step.partner_status === 'submitted' && step.mine && step.mine.entry;
    parts.push(h('p', { class: 'step-flag held-flag', testid: 'held-note' }, both
      ? "Both answers are in. Your counsellor will show them when you're ready to talk."
      : "Your counsellor will show both answers when you're ready to talk."));
  }
  const floor = floorFor(state, step.id);
  if (floor && step.status !== 'done') {
    const holder = ctrl.nameOf(floor.holder);
    let text;
    if (!isPartner) text = `${holder} has the floor. The other partner waits; their words are kept.`;
    else if (floor.lockedOut) text = `Your counsellor has given the floor to ${holder}. Your words are kept here; you can carry on when the floor opens again.`;
    else text = 'Your counsellor has given you the floor.';
    parts.push(h('p', { class: floor.lockedOut ? 'step-flag floor-note locked' : 'step-flag floor-note', testid: 'floor-note' }, text));
  }
  // (A private check's flag is not drawn on a step: it names nobody, and the counsellor's
  // panel shows it as "Check in with each partner privately", with the check-in.)
  if (step.id === state.session.current_step_id) {
    for (const card of moderation.cards || []) {
      parts.push(h('aside', { class: 'reframe-card', testid: 'reframe-card', 'aria-label': 'A card from your counsellor' },
        h('p', { class: 'reframe-kicker' }, isPartner ? 'From your counsellor' : 'Your card, shown to both'),
        h('p', { class: 'reframe-body' }, card.body)));
    }
  }
  return parts;
}

/** Who has submitted, for the counsellor's view of a step (never what, never drafts). */
export function submittedLine(ctrl, step) {
  const partners = ctrl.state.participants.filter((p) => p.role === 'partner');
  const done = new Set(step.submitted || []);
  if (!partners.length) return '';
  return partners.map((p) => (done.has(p.user_id) ? `${p.display_name} has submitted` : `${p.display_name} is still answering`)).join(' · ');
}

// ---- help when a counsellor ends the session -------------------------------------------

let helpList = null;

/** Support resources, shown in place (the same list as "Get help", fetched without cookies). */
export function helpResources() {
  const list = h('div', { class: 'help-inline-list', testid: 'ended-help-list' });
  const section = h('section', { class: 'ended-help', testid: 'ended-help', 'aria-labelledby': 'ended-help-title' },
    h('h3', { id: 'ended-help-title' }, 'Support, if you need it'),
    h('p', null, 'If today brought up something hard, these can help now. Only you see this list.'),
    list,
    h('button', {
      type: 'button', class: 'secondary', testid: 'ended-more-help',
      onclick: () => document.getElementById('get-help')?.click(),
    }, 'More help, by country'));
  if (!helpList) {
    helpList = fetch('/api/v1/help', {
      credentials: 'omit', cache: 'no-store', referrerPolicy: 'no-referrer', headers: { Accept: 'application/json' },
    }).then((r) => r.json()).then((data) => (data && data.ok ? data : Promise.reject(new Error('unavailable'))));
    helpList.catch(() => { helpList = null; });
  }
  helpList.then((data) => {
    replaceChildren(list, h('ul', { class: 'help-resources' }, (data.resources || []).map((r) => h('li', { class: 'help-resource', testid: 'ended-help-resource' },
      h('h4', { class: 'help-resource-name' }, r.name),
      r.description ? h('p', { class: 'help-resource-description' }, r.description) : null,
      h('ul', { class: 'help-ways' },
        r.phone ? h('li', null, h('a', { href: `tel:${String(r.phone).replace(/[^\d+]/g, '')}` }, `Call ${r.phone}`)) : null,
        r.text ? h('li', null, h('a', { href: `sms:${String(r.text).replace(/[^\d+]/g, '')}` }, `Text ${r.text}`)) : null,
        r.url ? h('li', null, h('a', { href: r.url, target: '_blank', rel: 'noopener noreferrer' }, r.name,
          h('span', { class: 'visually-hidden' }, ' (opens in a new tab)'))) : null)))));
  }, () => {
    replaceChildren(list, h('p', null, "We couldn't load the list here. “Get help” at the top of the page has it; if you are in danger, call your local emergency number."));
  });
  return section;
}

// ---- the counsellor's panel ---------------------------------------------------------------

class ModerationPanel {
  constructor(ctrl) {
    this.ctrl = ctrl;
    this.pending = null;
    this.error = null;
    this.errorFor = null; // which part the error belongs to
    this.confirmingEnd = false;
    this.preview = null; // {step, entries} while the dialog is open
    this.signature = null;
    // Long-lived inputs: a push never takes what the counsellor is typing.
    this.cardBody = h('textarea', { id: 'mod-card-body', rows: 3, maxLength: 600, testid: 'mod-card-body', class: 'mod-textarea' });
    this.cardKind = 'reframe';
    this.noteBody = h('textarea', { id: 'mod-note-body', rows: 3, maxLength: 4000, testid: 'mod-note-body', class: 'mod-textarea' });
    this.noteTo = h('select', { id: 'mod-note-to', testid: 'mod-note-to' });
    this.checkinBody = h('textarea', {
      id: 'mod-checkin-body', rows: 3, maxLength: 4000, testid: 'mod-checkin-body', class: 'mod-textarea',
      'aria-describedby': 'mod-checkin-help',
    });
    this.checkinBody.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        this.sendCheckin();
      } else if (event.key === 'Escape') {
        this.closeCheckin();
      }
    });
    this.checkinOpen = false;
    this.checkinSent = null; // {at}: the last check-in this screen sent
    this.checkinClientId = null; // kept across retries of the same words
    this.flagWas = null;
    this.nextSelect = h('select', { id: 'mod-next-step', testid: 'mod-next-step' });
    this.revisitSelect = h('select', { id: 'mod-revisit-step', testid: 'mod-revisit-step' });
    this.dialog = null;
    this.controlsEl = h('div', { class: 'mod-controls' });
    this.notesEl = h('div', { class: 'mod-notes' });
    this.bannerEl = h('div', { class: 'mod-banner-area' });
    this.checkinEl = h('div', { class: 'mod-checkin' });
    this.el = h('section', { class: 'card moderation-panel', testid: 'moderation-panel', 'aria-labelledby': 'moderation-title' },
      h('h2', { id: 'moderation-title' }, 'Your controls'),
      h('p', { class: 'muted small' }, 'The partners see what you do here listed under Activity (never your notes).'),
      this.bannerEl, this.controlsEl, this.checkinEl, this.notesEl);
  }

  get state() { return this.ctrl.state; }

  request(event, payload) {
    return this.ctrl.conn.request(event, { session_id: this.ctrl.sessionId, ...payload });
  }

  async act(name, event, payload, { done, part = 'controls' } = {}) {
    if (this.pending) return null;
    this.pending = name;
    this.error = null;
    this.render(true);
    const result = await this.request(event, payload);
    this.pending = null;
    if (this.ctrl.destroyed) return result;
    if (!result.ok) {
      this.error = result.error.message;
      this.errorFor = part;
    } else if (done) announce(done);
    this.render(true);
    if (!result.ok) this.el.querySelector('[data-testid="mod-error"]')?.focus();
    return result;
  }

  errorLine(part) {
    return this.error && this.errorFor === part
      ? h('p', { class: 'field-error', role: 'alert', tabIndex: -1, testid: 'mod-error' }, this.error) : null;
  }

  render(force = false) {
    const state = this.state;
    // Not the version: a change the panel doesn't show (a draft saved) leaves it alone.
    const signature = JSON.stringify([{ ...state.session, version: null }, state.steps.map((s) => [s.id, s.title, s.status, s.held, s.submitted, s.kind]),
      state.moderation, state.participants, state.notes, state.check || null, this.pending, this.error, this.confirmingEnd, this.cardKind,
      this.checkinOpen, this.checkinSent]);
    if (!force && signature === this.signature) return;
    this.signature = signature;
    const focused = this.el.contains(document.activeElement) ? document.activeElement.dataset.testid : null;
    this.renderBanner();
    this.renderControls();
    this.renderCheckin();
    this.renderNotes();
    if (focused) {
      const again = this.el.querySelector(`[data-testid="${focused}"]`);
      if (again && !again.disabled) again.focus({ preventScroll: true });
      else this.el.querySelector('#moderation-title')?.focus?.();
    }
  }

  renderControls() {
    const state = this.state;
    const session = state.session;
    if (session.status !== 'active') {
      replaceChildren(this.controlsEl, h('p', { testid: 'mod-finished' }, session.status === 'ended'
        ? 'This session has ended. Your notes stay with you, in your summary.'
        : session.status === 'cancelled'
        ? 'This session was cancelled by a partner. Your notes stay with you, in your summary.'
        : 'This session is finished. Your notes stay with you, in your summary.'));
      return;
    }
    const steps = state.steps;
    const index = steps.findIndex((s) => s.id === session.current_step_id);
    const current = steps[index];
    const busy = Boolean(this.pending);
    const partners = state.participants.filter((p) => p.role === 'partner');
    const groups = [];

    // Where the session is.
    const now = [h('h3', null, 'Now'),
      h('p', { testid: 'mod-current' }, `Step ${index + 1} of ${steps.length}: ${current.title}`)];
    if (current.answer && Array.isArray(current.submitted)) now.push(h('p', { class: 'muted', testid: 'mod-submitted' }, submittedLine(this.ctrl, current)));
    groups.push(h('div', { class: 'mod-group' }, now));

    // Move on / choose the next step.
    const later = steps.slice(index + 1);
    const chosen = this.nextSelect.value;
    replaceChildren(this.nextSelect, later.map((s) => h('option', { value: s.id }, `Step ${steps.indexOf(s) + 1}: ${s.title}`)));
    if (later.some((s) => s.id === chosen)) this.nextSelect.value = chosen;
    groups.push(h('div', { class: 'mod-group', role: 'group', 'aria-labelledby': 'mod-move-title' },
      h('h3', { id: 'mod-move-title' }, 'Move on'),
      h('div', { class: 'mod-row' },
        h('button', {
          type: 'button', class: 'primary', testid: 'mod-advance', disabled: busy,
          onclick: () => this.act('advance', 'step:advance', { step_id: current.id }, { done: 'Moved on to the next step.' }),
        }, index === steps.length - 1 ? 'Finish the session' : 'Move on to the next step')),
      later.length > 1 ? h('div', { class: 'mod-row' },
        h('label', { for: 'mod-next-step' }, 'Or choose the next exercise'), this.nextSelect,
        h('button', {
          type: 'button', class: 'secondary', testid: 'mod-go-to', disabled: busy,
          onclick: () => this.act('advance', 'step:advance', { step_id: current.id, to_step_id: this.nextSelect.value }, { done: 'Moved on.' }),
        }, 'Go to this step')) : null));

    // A listening step of questions: each answer waits for the counsellor's release (the
    // counsellor reads it in the conversation; there is nothing else to preview).
    if ('held' in current && current.kind === 'listening') {
      const asker = current.listening && current.listening.speaker;
      const who = asker ? this.ctrl.nameOf(asker) : 'The partner asking';
      groups.push(h('div', { class: 'mod-group', role: 'group', 'aria-labelledby': 'mod-answers-title' },
        h('h3', { id: 'mod-answers-title' }, 'The answers'),
        current.held
          ? [h('p', { testid: 'mod-held' }, `Held: ${who} sees the answers so far when you release them.`),
            h('button', {
              type: 'button', class: 'primary', testid: 'mod-release', disabled: busy,
              onclick: () => this.act('release', 'reveal:release', { step_id: current.id }, { done: 'Released.' }),
            }, `Release to ${who}`)]
          : h('p', { class: 'muted' }, `Each answer waits for you to release it to ${who}.`)));
    } else if ('held' in current) {
      const held = current.held;
      const anyIn = (current.submitted || []).length > 0;
      const answerControls = [h('h3', { id: 'mod-answers-title' }, 'The answers')];
      if (current.status === 'revealed') {
        answerControls.push(h('p', { class: 'muted' }, 'These answers are shown to both.'));
      } else if (held) {
        answerControls.push(h('p', { testid: 'mod-held' }, 'Held: the partners will see each other’s answers when you release them.'),
          h('div', { class: 'mod-row' },
            h('button', {
              type: 'button', class: 'secondary', testid: 'mod-preview', disabled: busy || !anyIn,
              'aria-describedby': anyIn ? null : 'mod-preview-why',
              onclick: () => this.openPreview(current),
            }, 'Preview the answers'),
            h('button', {
              type: 'button', class: 'primary', testid: 'mod-release', disabled: busy,
              onclick: () => this.act('release', 'reveal:release', { step_id: current.id }, { done: 'Released. The answers are shown once both are in.' }),
            }, 'Release to both')),
          anyIn ? null : h('p', { class: 'muted small', id: 'mod-preview-why' }, 'You can preview once someone has submitted.'));
      } else {
        answerControls.push(h('p', { class: 'muted' }, 'Shown to both as soon as both are in, unless you hold them.'),
          h('button', {
            type: 'button', class: 'secondary', testid: 'mod-hold', disabled: busy,
            onclick: () => this.act('hold', 'reveal:hold', { step_id: current.id }, { done: 'Held. Nothing is shown until you release it.' }),
          }, 'Hold the answers'));
      }
      groups.push(h('div', { class: 'mod-group', role: 'group', 'aria-labelledby': 'mod-answers-title' }, answerControls));
    }

    // Answers still held on a step the session has moved on from: never stranded.
    const earlier = ((state.moderation || {}).held || []).filter((id) => id !== current.id)
      .map((id) => steps.find((s) => s.id === id)).filter(Boolean);
    if (earlier.length) {
      groups.push(h('div', { class: 'mod-group', role: 'group', 'aria-labelledby': 'mod-earlier-title', testid: 'mod-earlier-held' },
        h('h3', { id: 'mod-earlier-title' }, 'Still held from earlier'),
        h('ul', { class: 'mod-held-list' }, earlier.map((s) => h('li', null,
          h('p', { class: 'mod-held-title' }, `Step ${steps.indexOf(s) + 1}: ${s.title}`),
          h('div', { class: 'mod-row' },
            h('button', {
              type: 'button', class: 'secondary', disabled: busy, testid: `mod-preview-${s.id}`,
              'aria-label': `Preview the answers to ${s.title}`, onclick: () => this.openPreview(s),
            }, 'Preview'),
            h('button', {
              type: 'button', class: 'secondary', disabled: busy, testid: `mod-release-${s.id}`,
              'aria-label': `Release the answers to ${s.title}`,
              onclick: () => this.act('release', 'reveal:release', { step_id: s.id }, { done: 'Released.' }),
            }, 'Release to both')))))));
    }

    // The floor.
    const floor = (state.moderation || {}).floor;
    const holder = floor && floor.step_id === current.id ? floor.user_id : null;
    groups.push(h('div', { class: 'mod-group', role: 'group', 'aria-labelledby': 'mod-floor-title' },
      h('h3', { id: 'mod-floor-title' }, 'The floor'),
      h('p', { class: 'muted small', testid: 'mod-floor-status' }, holder
        ? `${this.ctrl.nameOf(holder)} has the floor; the other’s input is closed for now.`
        : 'Open: both can answer.'),
      h('div', { class: 'mod-row' },
        partners.map((p) => h('button', {
          type: 'button', class: 'secondary toggle', testid: `mod-floor-${p.user_id}`, disabled: busy,
          'aria-pressed': String(holder === p.user_id),
          onclick: () => this.act('floor', 'floor:grant', { step_id: current.id, user_id: p.user_id }, { done: `${p.display_name} has the floor.` }),
        }, `Give the floor to ${p.display_name}`)),
        h('button', {
          type: 'button', class: 'secondary toggle', testid: 'mod-floor-open', disabled: busy,
          'aria-pressed': String(!holder),
          onclick: () => this.act('floor', 'floor:grant', { step_id: current.id, user_id: null }, { done: 'The floor is open.' }),
        }, 'Open the floor'))));

    // Bring back a finished step.
    const finished = steps.slice(0, index);
    const focus = (state.moderation || {}).focus_step_id;
    if (finished.length) {
      const picked = this.revisitSelect.value;
      replaceChildren(this.revisitSelect, finished.map((s, i) => h('option', { value: s.id }, `Step ${i + 1}: ${s.title}`)));
      if (finished.some((s) => s.id === picked)) this.revisitSelect.value = picked;
      else this.revisitSelect.value = finished[finished.length - 1].id;
      const focusStep = focus && steps.find((s) => s.id === focus);
      groups.push(h('div', { class: 'mod-group', role: 'group', 'aria-labelledby': 'mod-revisit-title' },
        h('h3', { id: 'mod-revisit-title' }, 'Talk about a finished step'),
        focusStep ? h('p', { testid: 'mod-revisit-status' }, `On screen for both: ${focusStep.title}`) : null,
        h('div', { class: 'mod-row' },
          h('label', { for: 'mod-revisit-step' }, 'Step'), this.revisitSelect,
          h('button', {
            type: 'button', class: 'secondary', testid: 'mod-revisit', disabled: busy,
            onclick: () => this.act('revisit', 'step:revisit', { step_id: this.revisitSelect.value }, { done: 'Brought back for both.' }),
          }, 'Bring it back'),
          focusStep ? h('button', {
            type: 'button', class: 'link-button', testid: 'mod-revisit-close', disabled: busy,
            onclick: () => this.act('revisit', 'step:revisit', { step_id: null }, { done: 'Closed.' }),
          }, 'Close it') : null)));
    }

    // A reframe card or a question.
    const kindName = 'mod-card-kind';
    const kindRadio = (value, label) => h('span', { class: 'mod-radio' },
      h('input', {
        type: 'radio', name: kindName, id: `${kindName}-${value}`, value, testid: `${kindName}-${value}`,
        checked: this.cardKind === value, onchange: () => { this.cardKind = value; },
      }),
      h('label', { for: `${kindName}-${value}` }, label));
    const cardForm = h('form', { class: 'mod-group mod-card-form', 'aria-labelledby': 'mod-card-title', novalidate: true },
      h('h3', { id: 'mod-card-title' }, 'A card or a question'),
      h('fieldset', { class: 'mod-kind' },
        h('legend', null, 'What is it?'),
        kindRadio('reframe', 'A reframe card, shown to both on this step'),
        kindRadio('prompt', 'A question both answer, as the next step')),
      h('label', { for: 'mod-card-body' }, 'Words'),
      this.cardBody,
      this.errorLine('card'),
      h('button', { type: 'submit', class: 'secondary', testid: 'mod-card-send', disabled: busy }, 'Show it'));
    cardForm.addEventListener('submit', async (event) => {
      event.preventDefault();
      const body = this.cardBody.value.trim();
      if (!body) {
        this.error = 'Write the card first.';
        this.errorFor = 'card';
        this.render(true);
        this.cardBody.focus();
        return;
      }
      const result = await this.act('card', 'card:add', { kind: this.cardKind, body },
        { part: 'card', done: this.cardKind === 'prompt' ? 'Your question is the next step.' : 'Your card is shown to both.' });
      if (result && result.ok) this.cardBody.value = '';
    });
    groups.push(cardForm);

    // Pause (the break panel above has it) and end.
    const end = [h('h3', { id: 'mod-end-title' }, 'End the session'),
      h('p', { class: 'muted small' }, 'Use “Take a break” above to pause for everyone.')];
    if (!this.confirmingEnd) {
      end.push(h('button', {
        type: 'button', class: 'secondary', testid: 'mod-end', disabled: busy,
        onclick: () => { this.confirmingEnd = true; this.render(true); this.el.querySelector('[data-testid="mod-end-question"]')?.focus(); },
      }, 'End the session for both'));
    } else {
      end.push(h('div', { class: 'confirm-box' },
        h('p', { tabIndex: -1, testid: 'mod-end-question' }, 'End this session for both partners now? They will be shown support resources, and the session can be read but not changed.'),
        h('div', { class: 'confirm-actions' },
          h('button', {
            type: 'button', class: 'primary', testid: 'mod-end-confirm', disabled: busy,
            onclick: async () => {
              this.confirmingEnd = false;
              await this.act('end', 'session:end', {}, { done: 'The session has ended for both.' });
            },
          }, 'Yes, end it'),
          h('button', {
            type: 'button', class: 'link-button', testid: 'mod-end-cancel',
            onclick: () => { this.confirmingEnd = false; this.render(true); this.el.querySelector('[data-testid="mod-end"]')?.focus(); },
          }, 'Keep going'))));
    }
    groups.push(h('div', { class: 'mod-group', role: 'group', 'aria-labelledby': 'mod-end-title' }, end));

    replaceChildren(this.controlsEl, this.errorLine('controls'), h('div', { class: 'mod-groups' }, groups));
  }

  renderNotes() {
    const state = this.state;
    const partners = state.participants.filter((p) => p.role === 'partner');
    const flagged = isFlagged(state);
    const to = this.noteTo.value;
    // While a safety flag is up, a message to one partner would point at a person: the
    // server refuses it, and the choice is not offered here.
    replaceChildren(this.noteTo, h('option', { value: '' }, 'Only me (a private note)'),
      partners.map((p) => h('option', { value: p.user_id, disabled: flagged }, `${p.display_name} (a private message only they see)`)));
    if (!flagged && partners.some((p) => p.user_id === to)) this.noteTo.value = to;
    else this.noteTo.value = '';
    const form = h('form', { class: 'mod-note-form', novalidate: true, 'aria-labelledby': 'mod-notes-title' },
      h('label', { for: 'mod-note-body' }, 'Write'), this.noteBody,
      h('div', { class: 'mod-row' },
        h('label', { for: 'mod-note-to' }, 'Who sees it'), this.noteTo,
        h('button', { type: 'submit', class: 'secondary', testid: 'mod-note-send', disabled: Boolean(this.pending) }, 'Save')),
      flagged ? h('p', { class: 'muted small', testid: 'mod-note-flag-hint' },
        'While the private check suggests it, write to both at once with a check-in, not to one of them.') : null,
      this.errorLine('note'));
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.addNote();
    });
    // A check-in's copies (one per partner, the same words) are one line here.
    const notes = [];
    const groups = new Set();
    for (const n of state.notes || []) {
      if (!isCheckin(n)) notes.push(n);
      else if (!groups.has(checkinGroup(n))) {
        groups.add(checkinGroup(n));
        notes.push(n);
      }
    }
    const meta = (n) => {
      if (n.private) return `Private note · ${formatTime(n.at)}`;
      if (isCheckin(n)) return `Check-in with each partner, privately · ${formatTime(n.at)}`;
      return `To ${this.ctrl.nameOf(n.to_user_id)} · ${formatTime(n.at)}`;
    };
    replaceChildren(this.notesEl,
      h('h3', { id: 'mod-notes-title' }, 'Notes and private messages'),
      h('p', { class: 'muted small' }, 'Notes are yours alone: never shown to the partners, in their summaries or exports. A message goes to one partner only.'),
      notes.length ? h('ul', { class: 'note-list', testid: 'mod-notes' }, notes.map((n) => h('li', {
        class: 'note', testid: 'mod-note', 'data-private': String(n.private), 'data-checkin': String(isCheckin(n)),
      },
      h('p', { class: 'note-meta' }, meta(n)),
      h('p', { class: 'note-body' }, n.body))))
        : h('p', { class: 'muted small', testid: 'mod-notes-empty' }, 'No notes yet.'),
      form);
  }

  /** A safety flag: "check in with each partner privately" (never who), with the way to. */
  renderBanner() {
    const flagged = isFlagged(this.state);
    if (this.flagWas === false && flagged) announce('Check in with each partner privately.');
    this.flagWas = flagged;
    if (!flagged) {
      replaceChildren(this.bannerEl);
      return;
    }
    replaceChildren(this.bannerEl, h('section', { class: 'checkin-banner', testid: 'checkin-banner', 'aria-labelledby': 'checkin-banner-title' },
      h('h3', { id: 'checkin-banner-title' }, 'Check in with each partner privately'),
      h('p', null, 'The private check suggests a quiet word with each of them. Mend doesn’t say who or why. A check-in sends the same words to both at once, and each reads their own copy privately, so no one is singled out.'),
      h('button', {
        type: 'button', class: 'primary', testid: 'checkin-banner-open', 'aria-controls': 'mod-checkin',
        onclick: () => this.openCheckin(),
      }, 'Write a check-in to both')));
  }

  /** The check-in with each partner: the same words to both, privately (also after the end). */
  renderCheckin() {
    const state = this.state;
    const names = state.participants.filter((p) => p.role === 'partner').map((p) => p.display_name);
    const both = names.length === 2 ? `${names[0]} and ${names[1]}` : 'each partner';
    const status = this.checkinSent
      ? h('p', { class: 'checkin-status', role: 'status', testid: 'mod-checkin-status' },
        `Sent to ${both}, each privately, at ${formatTime(this.checkinSent.at)}.`)
      : h('p', { class: 'visually-hidden', role: 'status', testid: 'mod-checkin-status' });
    const children = [h('h3', { id: 'mod-checkin-title' }, 'Check in with each partner'),
      h('p', { class: 'muted small', id: 'mod-checkin-help' },
        `The same words go to ${both} at once; each sees only their own copy. Their Activity reads “checked in with each of you privately”.`)];
    if (!this.checkinOpen) {
      children.push(h('button', {
        type: 'button', class: 'secondary', testid: 'mod-checkin-open', 'aria-expanded': 'false', 'aria-controls': 'mod-checkin',
        onclick: () => this.openCheckin(),
      }, 'Check in with each partner privately'), status);
      replaceChildren(this.checkinEl, h('div', { class: 'mod-group', role: 'group', id: 'mod-checkin', 'aria-labelledby': 'mod-checkin-title' }, children));
      return;
    }
    const sending = this.pending === 'checkin';
    const form = h('form', { class: 'mod-checkin-form', id: 'mod-checkin-form', novalidate: true, 'aria-labelledby': 'mod-checkin-title', testid: 'mod-checkin-form' },
      h('label', { for: 'mod-checkin-body' }, 'Your words to each of them'),
      this.checkinBody,
      this.errorLine('checkin'),
      h('div', { class: 'mod-row' },
        h('button', { type: 'submit', class: 'primary', testid: 'mod-checkin-send', disabled: Boolean(this.pending) },
          sending ? 'Sending…' : 'Send to both privately'),
        h('button', { type: 'button', class: 'link-button', testid: 'mod-checkin-cancel', onclick: () => this.closeCheckin() }, 'Cancel')),
      status);
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.sendCheckin();
    });
    children.push(form);
    replaceChildren(this.checkinEl, h('div', { class: 'mod-group', role: 'group', id: 'mod-checkin', 'aria-labelledby': 'mod-checkin-title' }, children));
  }

  openCheckin() {
    this.checkinOpen = true;
    if (this.errorFor === 'checkin') this.error = null;
    this.render(true);
    this.checkinBody.focus();
  }

  closeCheckin() {
    this.checkinOpen = false;
    if (this.errorFor === 'checkin') this.error = null;
    this.render(true);
    this.el.querySelector('[data-testid="mod-checkin-open"]')?.focus();
  }

  async sendCheckin() {
    if (this.pending) return;
    const body = this.checkinBody.value.trim();
    if (!body) {
      this.error = 'Write the check-in first.';
      this.errorFor = 'checkin';
      this.render(true);
      this.checkinBody.focus();
      return;
    }
    // The same words keep their client_id: a retry after a lost answer sends nothing twice.
    if (!this.checkinClientId || this.checkinClientId.body !== body) this.checkinClientId = { id: newClientId(), body };
    const payload = { client_id: this.checkinClientId.id, body };
    let result = null;
    for (let attempt = 0; attempt < 3; attempt += 1) {
      this.pending = null;
      result = await this.act('checkin', 'checkin:private', payload, { part: 'checkin', done: 'Check-in sent to both, privately.' });
      if (!result || result.ok || !isTransient(result.error)) break;
    }
    if (!result || !result.ok || this.ctrl.destroyed) {
      if (result && !result.ok) this.checkinBody.focus();
      return;
    }
    this.checkinBody.value = '';
    this.checkinClientId = null;
    this.checkinSent = { at: result.checkin.at };
    this.checkinOpen = false;
    this.render(true);
    this.el.querySelector('[data-testid="mod-checkin-open"]')?.focus();
  }

  async addNote() {
    const body = this.noteBody.value.trim();
    if (!body) {
      this.error = 'Write the note first.';
      this.errorFor = 'note';
      this.render(true);
      this.noteBody.focus();
      return;
    }
    const to = this.noteTo.value || null;
    const payload = { client_id: newClientId(), body };
    if (to) payload.user_id = to;
    let result = null;
    for (let attempt = 0; attempt < 3; attempt += 1) {
      // The same client_id on a retry: a note that did arrive is not written twice.
      this.pending = null;
      result = await this.act('note', 'note:add', payload, { part: 'note', done: to ? 'Message sent.' : 'Note saved.' });
      if (!result || result.ok || !isTransient(result.error)) break;
    }
    if (result && result.ok) this.noteBody.value = '';
  }

  async openPreview(step) {
    // Focus goes back to the button that opened it (found again: pushes redraw the panel).
    const opener = this.el.contains(document.activeElement) ? document.activeElement.dataset.testid : null;
    const result = await this.act('preview', 'reveal:preview', { step_id: step.id });
    if (!result || !result.ok) return;
    if (!this.dialog) {
      this.dialog = h('dialog', { class: 'preview-dialog', testid: 'preview-dialog', 'aria-labelledby': 'preview-title' });
      this.dialog.addEventListener('close', () => {
        const back = this.previewOpener;
        const again = back && this.el.querySelector(`[data-testid="${back}"]`);
        (again || this.el.querySelector('#moderation-title'))?.focus();
      });
      document.body.append(this.dialog);
    }
    this.previewOpener = opener;
    const kind = kindFor(step);
    const entries = result.entries || [];
    const show = (entry) => (kind.display
      ? kind.display(step, entry, { userId: entry.user_id, name: entry.display_name, isMine: false, compare: step.compare })
      : plainAnswer(entry));
    replaceChildren(this.dialog,
      h('h2', { id: 'preview-title', tabIndex: -1 }, `The answers to “${step.title}”`),
      h('p', { class: 'muted' }, 'Only you see this. The partners see each other’s answers when you release them; your preview is listed in their Activity.'),
      h('div', { class: 'reveal' }, entries.map((entry) => h('section', { class: 'reveal-column', testid: 'preview-entry', 'data-user-id': entry.user_id },
        h('h3', { class: 'reveal-name' }, `${entry.display_name}'s answer`),
        entry.skipped ? skippedDisplay(entry.display_name, false) : show(entry)))),
      entries.length < 2 ? h('p', { class: 'muted' }, 'The other partner has not submitted yet.') : null,
      h('div', { class: 'confirm-actions' },
        h('button', {
          type: 'button', class: 'primary', testid: 'preview-release',
          onclick: () => {
            this.dialog.close();
            this.act('release', 'reveal:release', { step_id: step.id }, { done: 'Released.' });
          },
        }, 'Release to both'),
        h('button', { type: 'button', class: 'secondary', testid: 'preview-close', onclick: () => this.dialog.close() }, 'Close')));
    if (!this.dialog.open) this.dialog.showModal();
    this.dialog.querySelector('#preview-title').focus();
  }

  destroy() {
    if (this.dialog) this.dialog.remove();
  }
}

/** An answer of a kind that has no read-only display of its own: its words, then its fields. */
function plainAnswer(entry) {
  const fields = entry.fields && typeof entry.fields === 'object' ? Object.entries(entry.fields) : [];
  const text = (value) => (Array.isArray(value)
    ? value.map((v) => (v && typeof v === 'object' ? Object.values(v).filter(Boolean).join(' — ') : String(v))).join('; ')
    : (value && typeof value === 'object' ? JSON.stringify(value) : String(value)));
  return h('div', { class: 'answer-body' },
    entry.body ? h('p', null, entry.body) : null,
    fields.length ? h('ul', null, fields.map(([key, value]) => h('li', null, `${key.replace(/_/g, ' ')}: ${text(value)}`))) : null);
}

export function destroyArea(area) {
  if (area && area.panel) area.panel.destroy();
}
