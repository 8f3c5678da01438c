// The client's step-kind registry, mirroring the server's (server/engine/kinds): each kind
// says how its step is written and read back; the session screen (js/views/session.js)
// owns what every step shares (drafts, the submit outbox, skips, the reveal, ready, acks).
//
// A kind is a plain object:
//   name            the server's `step.kind`
//   takesAnswer     false for a card that is only read (info)
//   body(step)      (takesAnswer false) the card's content, as nodes
//   editor(step, values, {labelledBy, describedBy, onChange})
//                   the input; {el, getValue() -> {body, fields}, isEmpty(), focus(),
//                   setDisabled(bool), problem() -> string|null}
//   emptyMessage(step)        why an empty answer can't be submitted
//   display(step, entry, who) one person's (not skipped) answer, read-only; `who` is
//                   {userId, name, isMine, compare} (compare: the step's view or summary
//                   `compare`, when there is one)
//   mount(step, ctx) (structured kinds: listening, apology, boundary…) draw the whole step
//                   yourself: return {el, update(step), destroy?()}. `update` runs on every
//                   new view of the session, so keep inputs alive and patch around them.
//                   ctx (StepView.kindContext in views/session.js): state, step, me,
//                   partner, nameOf, isAway, heading(), readyBlock(), announce,
//                   request(event, payload), turn(name, {body, fields}), saveDraft().
//   summary(step, who) optional: this kind's part of the summary page

const kinds = new Map();

export function registerKind(kind) {
  kinds.set(kind.name, kind);
  return kind;
}

/** The kind for a step; an unknown kind falls back on what its shape allows. */
export function kindFor(step) {
  const kind = kinds.get(step.kind);
  // A kind may draw some of its steps differently (a commitment review): it says which.
  return (kind && kind.forStep && kind.forStep(step)) || kind || kinds.get(step.answer ? 'prompt' : 'info');
}
