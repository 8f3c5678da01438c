// Advisory hints for an apology's parts, from content/rules/apology-hints.yaml (served in
// the step's settings.hints). Pure functions, no DOM: the matching must equal the
// loader's (server/content/rules.py phrase_matches); tests/unit/test_kind_apology.py runs
// both over every example.

function normal(text) {
  return String(text || '').toLowerCase().replace(/[\u2018\u2019]/g, "'");
}

function escapeRegExp(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Whole words, in order, any spacing; case and apostrophe style ignored. */
export function phraseMatches(phrase, text) {
  const words = normal(phrase).split(/\s+/).filter(Boolean);
  if (!words.length) return false;
  const body = words.map(escapeRegExp).join('\\s+');
  return new RegExp(`(?:^|[^a-z0-9_'])(?:${body})(?=$|[^a-z0-9_'])`).test(normal(text));
}

/** The hints that apply to one part's text: [{id, message, phrase}]. */
export function hintsFor(hints, part, text) {
  const found = [];
  for (const hint of hints || []) {
    if (hint.parts && !hint.parts.includes(part)) continue;
    const phrase = hint.phrases.find((p) => phraseMatches(p, text));
    if (phrase) found.push({ id: hint.id, message: hint.message, phrase });
  }
  return found;
}
