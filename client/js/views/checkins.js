// The couple's check-ins over time, on their home page: one small chart per person (their
// trust, closeness and mood across check-ins), drawn as inline SVG — no outside service —
// with the same numbers as a table for screen readers and anyone who prefers one.
// Per person only: no combined score, no streaks, nothing that sets one partner against
// the other. Only check-ins both were shown reach this page (the server decides that).

import { h, formatDate, formatTime } from '../dom.js';
import { api } from '../api.js';

const SVG = 'http://www.w3.org/2000/svg';
const WIDTH = 340;
const HEIGHT = 220;
// Room for the y-axis numbers and title on the left and above, the dates and their title below.
const PAD = { left: 34, right: 14, top: 30, bottom: 52 };
// Lines differ by dash and marker shape as well as colour (and each has a halo, so where
// lines cross the one underneath still shows).
const DASHES = ['', '7 4', '2 3', '10 3 2 3', '1 5'];
const X_TICKS = 3; // dates under the chart: the first, the middle and the latest
const CHAR_W = 6.3; // about how wide one character of the axis text is, in chart units

function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value !== null && value !== undefined && value !== '') el.setAttribute(key, String(value));
  }
  children.flat(Infinity).forEach((child) => child && el.append(child)); // nested groups of ticks
  return el;
}

/** Filled circle, hollow square, filled triangle, hollow diamond...: told apart by shape. */
function marker(index, x, y, title = null) {
  const cls = `checkin-mark checkin-series-${index} checkin-shape-${index % 4}`;
  const tip = title ? s('title', {}, title) : null;
  const shape = index % 4;
  if (shape === 0) return s('circle', { class: cls, cx: x, cy: y, r: 3.5 }, tip);
  if (shape === 1) return s('rect', { class: cls, x: x - 3.2, y: y - 3.2, width: 6.4, height: 6.4 }, tip);
  if (shape === 2) return s('path', { class: cls, d: `M${x} ${y - 4.5} L${x + 4.5} ${y + 3.5} L${x - 4.5} ${y + 3.5} Z` }, tip);
  return s('path', { class: cls, d: `M${x} ${y - 4.5} L${x + 4.5} ${y} L${x} ${y + 4.5} L${x - 4.5} ${y} Z` }, tip);
}

/**
 * One label per check-in, never two alike: the date, with the time of day when two fall on
 * the same day, and a number after that if even the minute is shared ("8 Dec 2026 (2)").
 */
export function pointLabels(points) {
  const days = points.map((p) => formatDate(p.at));
  const sameDay = (i) => days.filter((d) => d === days[i]).length > 1;
  const labels = points.map((p, i) => (sameDay(i) ? `${days[i]}, ${formatTime(p.at)}` : days[i]));
  const seen = new Map();
  return labels.map((label) => {
    const n = (seen.get(label) || 0) + 1;
    seen.set(label, n);
    return n === 1 ? label : `${label} (${n})`;
  });
}

/** The y-axis numbers: both ends, and evenly between them (1, 4, 7, 10). */
function yTicks(min, max) {
  const span = max - min;
  if (span <= 0) return [min];
  const step = [1, 2, 3, 4, 5].find((k) => span % k === 0 && span / k <= 5) || Math.ceil(span / 5);
  const ticks = [];
  for (let v = min; v < max; v += step) ticks.push(v);
  ticks.push(max);
  return ticks;
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
  const labels = pointLabels(points);
  const innerW = WIDTH - PAD.left - PAD.right;
  const innerH = HEIGHT - PAD.top - PAD.bottom;
  const bottom = PAD.top + innerH;
  const x = (i) => PAD.left + (points.length === 1 ? innerW / 2 : (innerW * i) / (points.length - 1));
  const y = (v) => PAD.top + innerH - ((v - min) / (max - min || 1)) * innerH;
  const yAxis = s('g', { class: 'checkin-y-axis', 'data-testid': 'checkin-y-axis' },
    s('text', { class: 'checkin-axis checkin-axis-title', x: 2, y: 12, 'data-testid': 'checkin-y-title' },
      `Rating, ${min} to ${max}`),
    s('line', { class: 'checkin-axis-line', x1: PAD.left, x2: PAD.left, y1: PAD.top - 4, y2: bottom }),
    yTicks(min, max).map((v) => [
      s('line', { class: 'checkin-grid', x1: PAD.left, x2: WIDTH - PAD.right, y1: y(v), y2: y(v) }),
      s('text', { class: 'checkin-axis checkin-y-tick', x: PAD.left - 6, y: y(v) + 4, 'text-anchor': 'end' }, String(v)),
    ]));
  // The first, the middle and the latest check-in, each under its own point.
  let tickIdx = [...new Set(points.length <= X_TICKS ? points.map((_, i) => i)
    : [0, Math.round((points.length - 1) / 2), points.length - 1])];
  // A middle date that would run into its neighbours (a long "…, 07:30 PM") is left out.
  const room = (i) => labels[i].length * CHAR_W;
  if (tickIdx.length === 3) {
    const [a, m, b] = tickIdx;
    if (x(a) + room(a) + 8 > x(m) - room(m) / 2 || x(m) + room(m) / 2 + 8 > x(b) - room(b)) tickIdx = [a, b];
  }
  const xAxis = s('g', { class: 'checkin-x-axis', 'data-testid': 'checkin-x-axis' },
    s('line', { class: 'checkin-axis-line', x1: PAD.left, x2: WIDTH - PAD.right, y1: bottom, y2: bottom }),
    tickIdx.map((i, n) => {
      const anchor = tickIdx.length === 1 ? 'middle' : n === 0 ? 'start' : n === tickIdx.length - 1 ? 'end' : 'middle';
      return [
        s('line', { class: 'checkin-axis-line', x1: x(i), x2: x(i), y1: bottom, y2: bottom + 4 }),
        s('text', { class: 'checkin-axis checkin-x-tick', x: anchor === 'start' ? x(i) - 2 : anchor === 'end' ? x(i) + 2 : x(i), y: bottom + 17, 'text-anchor': anchor }, labels[i]),
      ];
    }),
    s('text', { class: 'checkin-axis checkin-axis-title', x: PAD.left + innerW / 2, y: HEIGHT - 8, 'text-anchor': 'middle', 'data-testid': 'checkin-x-title' },
      'Check-ins, oldest to latest'));
  const series = ratings.map((rating, index) => {
    const known = points.map((p, i) => [i, p.ratings[rating.id]]).filter(([, v]) => typeof v === 'number');
    if (!known.length) return null;
    const d = known.map(([i, v], n) => `${n ? 'L' : 'M'}${x(i).toFixed(1)} ${y(v).toFixed(1)}`).join(' ');
    const dash = DASHES[index % DASHES.length];
    return s('g', { class: `checkin-series checkin-series-${index}`, 'data-rating': rating.id },
      known.length > 1 ? s('path', { class: 'checkin-halo', d }) : null,
      known.length > 1 ? s('path', { class: 'checkin-line', d, 'stroke-dasharray': dash }) : null,
      known.map(([i, v]) => marker(index, x(i), y(v), `${rating.label}, ${labels[i]}: ${v} of ${points[i].max ?? max}`)));
  });
  return s('svg', {
    class: 'checkin-chart', viewBox: `0 0 ${WIDTH} ${HEIGHT}`, width: WIDTH, height: HEIGHT,
    role: 'img', 'aria-label': chartLabel(ratings, points, who), focusable: 'false', 'data-testid': 'checkin-chart',
  }, yAxis, xAxis, series);
}

function legend(ratings) {
  return h('ul', { class: 'checkin-legend', 'aria-hidden': 'true', testid: 'checkin-legend' }, ratings.map((rating, index) => h('li', null,
    s('svg', { width: 32, height: 14, viewBox: '0 0 32 14', class: `checkin-series checkin-series-${index}` },
      s('line', { class: 'checkin-line', x1: 1, x2: 31, y1: 7, y2: 7, 'stroke-dasharray': DASHES[index % DASHES.length] }),
      marker(index, 16, 7)),
    rating.label)));
}

/** The same numbers as a table: the chart's text alternative. */
export function personTable(ratings, points, caption) {
  const labels = pointLabels(points);
  return h('table', { class: 'checkin-table', testid: 'checkin-table' },
    h('caption', null, caption),
    h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Check-in'),
      ratings.map((r) => h('th', { scope: 'col' }, r.label)))),
    h('tbody', null, points.map((p, i) => h('tr', null,
      h('th', { scope: 'row' }, `${i + 1}. ${labels[i]}`),
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
    // Each person's numbers reach the other only when they share them (issue 16).
    ...(data.people || []).filter((p) => p.numbers_kept).map((p) => h('p', { class: 'muted small', testid: 'checkins-partner-kept' },
      `${p.display_name || 'Your partner'} keeps their numbers to themselves.`)),
    h('p', { class: 'muted small', testid: 'checkins-my-line' }, data.line && data.line.shared
      ? 'Your partner sees your numbers. You can change that on any check-in of yours.'
      : 'Your numbers stay with you unless you choose to show them, on any check-in of yours.'),
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
