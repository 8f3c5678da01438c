// The summary page (/s/<id>/summary): what this viewer may keep of a session — the
// revealed answers (and their own), acknowledgements, the closing check-out — as one
// readable, printable page, with the same thing as a Markdown file to download.

import { h, replaceChildren, formatDate } from '../dom.js';
import { api, ApiError } from '../api.js';
import { removedDisplay, skippedDisplay } from './answers.js';
import { kindFor } from '../kinds/index.js';

const ACK_TEXT = { thanks: 'Thank you for sharing', hear_you: 'I hear you' };

export function renderSummary(root, { sessionId, user, navigate, onAuthLost }) {
  const page = new SummaryPage(root, { sessionId, user, navigate, onAuthLost });
  page.load();
  return { destroy: () => page.destroy() };
}

class SummaryPage {
  constructor(root, { sessionId, user, navigate, onAuthLost }) {
    this.root = root;
    this.sessionId = sessionId;
    this.user = user;
    this.navigate = navigate;
    this.onAuthLost = onAuthLost;
    this.destroyed = false;
    this.loadToken = 0;
    this.titleEl = h('h1', { class: 'view-title', tabIndex: -1, testid: 'summary-title' }, 'Your summary');
    this.bodyEl = h('div', { class: 'summary-body' });
    const sessionHref = `/s/${encodeURIComponent(sessionId)}`;
    replaceChildren(root, h('div', { class: 'summary-page', testid: 'summary-page' },
      h('nav', { class: 'summary-nav', 'aria-label': 'Summary' },
        h('a', { href: sessionHref, 'data-link': '', class: 'back-link', testid: 'summary-back' }, '← Back to the session'),
        h('a', { href: '/', 'data-link': '', class: 'back-link', testid: 'summary-home' }, 'Home')),
      h('header', { class: 'summary-header' },
        h('p', { class: 'summary-kicker' }, 'Summary'),
        this.titleEl),
      this.bodyEl));
  }

  destroy() {
    this.destroyed = true;
  }

  async load() {
    const token = ++this.loadToken;
    document.title = 'Mend'; // neutral: no track, no name (issue 15)
    replaceChildren(this.bodyEl, h('p', { class: 'loading', role: 'status', testid: 'summary-loading' }, 'Loading your summary…'));
    let data;
    try {
      data = await api.get(`/sessions/${encodeURIComponent(this.sessionId)}/summary?format=json`);
    } catch (error) {
      if (this.destroyed || token !== this.loadToken) return;
      if (error instanceof ApiError && error.status === 401) {
        this.onAuthLost(error);
        return;
      }
      this.showError(error);
      return;
    }
    if (this.destroyed || token !== this.loadToken) return;
    this.render(data.summary);
  }

  showError(error) {
    const notFound = error instanceof ApiError && error.status === 404;
    this.titleEl.textContent = "We couldn't open this summary";
    replaceChildren(this.bodyEl,
      h('div', { class: 'notice notice-error', role: 'alert', testid: 'summary-error' },
        h('p', null, notFound
          ? "There's no summary here for you. The link may be mistyped, or the session isn't one of yours."
          : error.message)),
      notFound
        ? h('a', { href: '/', 'data-link': '', class: 'button-link' }, 'Back to home')
        : h('button', { type: 'button', class: 'primary', testid: 'summary-retry', onclick: () => this.load() }, 'Try again'));
  }

  names(summary) {
    const partners = summary.participants.filter((p) => p.role === 'partner').map((p) => p.display_name);
    return partners.length > 1 ? `${partners.slice(0, -1).join(', ')} and ${partners[partners.length - 1]}` : partners.join('');
  }

  render(summary) {
    const { session } = summary;
    const title = session.track.title;
    this.titleEl.textContent = title;
    document.title = 'Mend'; // neutral: no track, no name (issue 15)
    const counsellor = summary.participants.some((p) => p.role === 'counsellor');
    const when = [`Started ${formatDate(session.created_at)}`];
    if (session.finished_at) when.push(`${session.status === 'cancelled' ? 'cancelled' : 'finished'} ${formatDate(session.finished_at)}`);
    else if (session.status === 'active') when.push('still under way');
    const empty = !summary.steps.length;
    // The Markdown's times in this browser's own time zone (the server names it in the file).
    let zone = 'UTC';
    try {
      zone = Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
    } catch {
      // No Intl time zone: the file says its times are UTC.
    }
    const mdHref = `/api/v1/sessions/${encodeURIComponent(this.sessionId)}/summary?format=md&tz=${encodeURIComponent(zone)}`;
    replaceChildren(this.bodyEl,
      h('p', { class: 'summary-meta', testid: 'summary-meta' }, `${this.names(summary)} · ${when.join(', ')}`),
      h('p', { class: 'summary-private' },
        `Private to the two of you${counsellor ? ' and the counsellor you invited' : ''}. `
        + 'If you print it or save a copy, keep it somewhere only you can reach.'),
      empty ? null : h('div', { class: 'summary-actions' },
        h('button', { type: 'button', class: 'secondary', testid: 'print-summary', onclick: () => window.print() }, 'Print'),
        h('a', {
          href: mdHref, class: 'button-link', testid: 'download-summary',
          download: `${session.track.id}-summary.md`,
        }, 'Download as text (Markdown)')),
      empty ? this.emptyState(session) : h('ol', { class: 'summary-steps', 'aria-label': 'What you shared' },
        summary.steps.map((step) => this.stepBlock(summary, step))));
  }

  emptyState(session) {
    return h('section', { class: 'card summary-empty', testid: 'summary-empty', 'aria-labelledby': 'summary-empty-title' },
      h('h2', { id: 'summary-empty-title' }, 'Nothing has been shared yet'),
      h('p', null, "Once you've both answered a step, your answers appear here, side by side."),
      session.status === 'active'
        ? h('a', { href: `/s/${encodeURIComponent(this.sessionId)}`, 'data-link': '', class: 'button-link' }, 'Go to the session')
        : null);
  }

  stepBlock(summary, step) {
    const me = summary.viewer.user_id;
    const kind = kindFor(step);
    const names = new Map(summary.participants.map((p) => [p.user_id, p.display_name]));
    const answers = [...step.answers].sort((a, b) => (a.user_id === me ? -1 : b.user_id === me ? 1 : 0));
    const headingId = `summary-${step.id}`;
    return h('li', { class: 'summary-step', testid: `summary-step-${step.id}`, 'aria-labelledby': headingId },
      h('h2', { id: headingId, class: 'summary-step-title' }, step.title),
      step.prompt ? h('p', { class: 'prompt' }, step.prompt) : null,
      step.revealed === false
        ? h('p', { class: 'muted small', testid: 'summary-own-only' }, "Only your own answer: it hasn't been shown to both of you.")
        : null,
      h('div', { class: 'reveal summary-answers' }, answers.map((answer) => {
        const isMine = answer.user_id === me;
        const name = isMine ? 'You' : answer.display_name;
        const label = isMine ? 'Your answer' : `${answer.display_name}'s answer`;
        // No aria-label: a labelled <section> is a landmark, and ten "Your answer" landmarks
        // on one page can't be told apart (axe landmark-unique); the h3 names each column.
        return h('section', {
          class: answer.skipped ? 'reveal-column skipped' : 'reveal-column',
          testid: isMine ? 'summary-mine' : 'summary-partner', 'data-user-id': answer.user_id,
        },
        h('h3', { class: 'reveal-name' }, label),
        answer.removed ? removedDisplay() : answer.skipped
          ? skippedDisplay(name, isMine)
          : kind.display(step, answer, { userId: answer.user_id, name, isMine, compare: step.compare }));
      })),
      (step.acks || []).length
        ? h('ul', { class: 'ack-lines' }, step.acks.filter((a) => ACK_TEXT[a.ack]).map((ack) => h('li', { class: 'ack-line', testid: 'summary-ack' },
          `${ack.user_id === me ? 'You' : names.get(ack.user_id) || 'Someone'}: ${ACK_TEXT[ack.ack]}`)))
        : null,
      kind.summary ? kind.summary(step, { me, nameOf: (id) => names.get(id) || 'Someone' }) : null);
  }
}
