// The couple's check-ins over time, on their home page: one small chart per person (their
// trust, closeness and mood across check-ins), drawn as inline SVG — no outside service —
// with the same numbers as a table for screen readers and anyone who prefers one.
// Per person only: no combined score, no streaks, nothing that sets one partner against
// the other. Only check-ins both were shown reach this page (the server decides that).

import { h, formatDate } from '../dom.js';
import { api } from '../api.js';

const SVG = 'http://www.w3.org/2000/svg';
const WIDTH = 320;
const HEIGHT = 150;
const PAD = { left: 26, right: 12, top: 10, bottom: 24 };
// Lines differ by dash and marker shape as well as colour.
const DASHES = ['', '6 4', '2 3', '10 3 2 3', '1 5'];

function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value !== null && value !== undefined && value !== '') el.setAttribute(key, String(value));
  }
  children.flat().forEach((child) => child && el.append(child));
  return el;
}

function marker(index, x, y) {
  const cls = `checkin-mark checkin-series-${index}`;
  const shape = index % 3;
  if (shape === 0) return s('circle', { class: cls, cx: x, cy: y, r: 3.5 });
  if (shape === 1) return s('rect', { class: cls, x: x - 3.5, y: y - 3.5, width: 7, height: 7 });
  return s('path', { class: cls, d: `M${x} ${y - 4.5} L${x + 4.5} ${y + 3.5} L${x - 4.5} ${y + 3.5} Z` });
}

/** A sentence for the chart: how many check-ins and the latest numbers (the table has all). */
function chartLabel(ratings, points, who) {
  const last = points[points.length - 1];
  const latest = ratings.filter((r) => typeof last.ratings[r.id] === 'number')
    .map((r) => `${r.label} ${last.ratings[r.id]} of ${last.max}`).join(', ');
  return `${who} ratings over ${points.length} ${points.length === 1 ? 'check-in' : 'check-ins'}; `
    + `the latest: ${latest}. The table below lists every one.`;
}

/** One person's ratings as an SVG line chart, named by a sentence; the table has the numbers. */
export function personChart(ratings, points, who = 'Their') {
  const min = Math.min(...points.map((p) => p.min ?? 1));
  const max = Math.max(...points.map((p) => p.max ?? 10));
  const innerW = WIDTH - PAD.left - PAD.right;
  const innerH = HEIGHT - PAD.top - PAD.bottom;
  const x = (i) => PAD.left + (points.length === 1 ? innerW / 2 : (innerW * i) / (points.length - 1));
  const y = (v) => PAD.top + innerH - ((v - min) / (max - min || 1)) * innerH;
  const grid = [min, Math.round((min + max) / 2), max].map((v) => [
    s('line', { class: 'checkin-grid', x1: PAD.left, x2: WIDTH - PAD.right, y1: y(v), y2: y(v) }),
    s('text', { class: 'checkin-axis', x: PAD.left - 6, y: y(v) + 4, 'text-anchor': 'end' }, String(v)),
  ]);
  const dates = points.length ? [
    s('text', { class: 'checkin-axis', x: x(0), y: HEIGHT - 6, 'text-anchor': points.length === 1 ? 'middle' : 'start' }, formatDate(points[0].at)),
    points.length > 1 ? s('text', { class: 'checkin-axis', x: x(points.length - 1), y: HEIGHT - 6, 'text-anchor': 'end' }, formatDate(points[points.length - 1].at)) : null,
  ] : [];
  const series = ratings.map((rating, index) => {
    const known = points.map((p, i) => [i, p.ratings[rating.id]]).filter(([, v]) => typeof v === 'number');
    if (!known.length) return null;
    const d = known.map(([i, v], n) => `${n ? 'L' : 'M'}${x(i).toFixed(1)} ${y(v).toFixed(1)}`).join(' ');
    return s('g', { class: `checkin-series checkin-series-${index}`, 'data-rating': rating.id },
      known.length > 1 ? s('path', { class: 'checkin-line', d, 'stroke-dasharray': DASHES[index % DASHES.length] }) : null,
      known.map(([i, v]) => marker(index, x(i), y(v))));
  });
  return s('svg', {
    class: 'checkin-chart', viewBox: `0 0 ${WIDTH} ${HEIGHT}`, width: WIDTH, height: HEIGHT,
    role: 'img', 'aria-label': chartLabel(ratings, points, who), focusable: 'false', 'data-testid': 'checkin-chart',
  }, grid, dates, series);
}

function legend(ratings) {
  return h('ul', { class: 'checkin-legend', 'aria-hidden': 'true' }, ratings.map((rating, index) => h('li', null,
    s('svg', { width: 28, height: 12, viewBox: '0 0 28 12', class: `checkin-series checkin-series-${index}` },
      s('line', { class: 'checkin-line', x1: 1, x2: 27, y1: 6, y2: 6, 'stroke-dasharray': DASHES[index % DASHES.length] }),
      marker(index, 14, 6)),
    rating.label)));
}

/** The same numbers as a table: the chart's text alternative. */
export function personTable(ratings, points, caption) {
  return h('table', { class: 'checkin-table', testid: 'checkin-table' },
    h('caption', null, caption),
    h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Check-in'),
      ratings.map((r) => h('th', { scope: 'col' }, r.label)))),
    h('tbody', null, points.map((p, i) => h('tr', null,
      h('th', { scope: 'row' }, `${i + 1}. ${formatDate(p.at)}`),
      ratings.map((r) => h('td', null, typeof p.ratings[r.id] === 'number' ? `${p.ratings[r.id]} of ${p.max}` : '–'))))));
}

/** The card's content for the API payload, seen by `meId`. */
export function checkinsContent(data, meId) {
  const people = [...(data.people || [])].filter((p) => p.points.length)
    .sort((a, b) => (a.user_id === meId ? -1 : b.user_id === meId ? 1 : 0));
  if (!people.length) return null;
  return [
    h('h2', { id: 'checkins-title' }, 'Check-ins over time'),
    h('p', { class: 'muted small' }, 'Each of you, on your own terms: how you rated trust, closeness and mood at each check-in you both shared.'),
    legend(data.ratings),
    h('div', { class: 'checkin-people' }, people.map((person) => {
      const isMe = person.user_id === meId;
      const name = isMe ? 'You' : (person.display_name || 'Your partner');
      const caption = isMe ? 'Your check-ins' : `${name}'s check-ins`;
      return h('figure', { class: 'checkin-person', testid: isMe ? 'checkins-mine' : 'checkins-partner', 'data-user-id': person.user_id },
        h('figcaption', { class: 'checkin-name' }, caption,
          h('span', { class: 'muted small' }, ` · ${person.points.length} ${person.points.length === 1 ? 'check-in' : 'check-ins'}`)),
        personChart(data.ratings, person.points, isMe ? 'Your' : `${name}'s`),
        h('details', { class: 'checkin-table-details' },
          h('summary', null, 'Show as a table'),
          personTable(data.ratings, person.points, caption)));
    })),
  ];
}

const cards = new Map(); // `${user}:${couple}` -> {el, signature}

/**
 * The check-ins card for the home page, kept across live re-renders. It loads again when
 * it is first drawn on a page and whenever the couple's sessions change; hidden while
 * there is nothing to draw.
 */
export function checkinsCard(coupleId, me) {
  const key = `${me.user.id}:${coupleId}`;
  let card = cards.get(key);
  if (!card) {
    card = { el: h('section', { class: 'card checkins-card', 'aria-labelledby': 'checkins-title', testid: 'checkins-card', hidden: true }), signature: null, seq: 0 };
    cards.set(key, card);
  }
  const signature = JSON.stringify((me.sessions || []).map((x) => [x.id, x.status, x.finished_at]));
  if (!card.el.isConnected || signature !== card.signature) {
    card.signature = signature;
    const seq = ++card.seq;
    api.get(`/couples/${encodeURIComponent(coupleId)}/checkins`).then((result) => {
      if (seq !== card.seq) return;
      const content = checkinsContent(result.checkins || {}, me.user.id);
      card.el.replaceChildren(...(content || []));
      card.el.hidden = !content;
    }).catch(() => { /* the chart is extra: a failed load leaves the rest of home as it is */ });
  }
  return card.el;
}
