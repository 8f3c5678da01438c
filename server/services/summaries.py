"""A session summary as Markdown: what a viewer may keep, readable anywhere."""

from __future__ import annotations

from typing import Any

ACK_WORDS = {"thanks": "Thank you for sharing", "hear_you": "I hear you"}


def _answer_lines(step: dict[str, Any], answer: dict[str, Any]) -> list[str]:
    if answer["skipped"]:
        return ["_Chose not to share this yet._"]
    spec = step.get("answer") or {}
    fields = answer.get("fields") or {}
    lines: list[str] = []
    if answer.get("body"):
        lines += [f"> {line}" if line else ">" for line in answer["body"].splitlines()]
    if "value" in fields:
        scale = spec.get("scale", spec)
        lines.append(f"{fields['value']} on a scale of {scale.get('min', 1)} to "
                     f"{scale.get('max', 10)}")
    if "choices" in fields:
        lines += [f"- {choice}" for choice in fields["choices"]] or ["(none chosen)"]
    for item in fields.get("items", ()):  # a boundary list: "I need … / I'll …"
        lines.append("- " + " / ".join(f"{label} {item[part]}" for part, label in
                                       (("need", "I need"), ("offer", "I'll")) if item.get(part)))
    if "ratings" in fields:  # a check-in: each rating, then the high, low and wish
        labels = {r["id"]: r["label"] for r in spec.get("ratings", ())}
        lines += [f"- {labels.get(k, k)}: {v} of {spec.get('max', 10)}"
                  for k, v in fields["ratings"].items()]
        support = {o["id"]: o["label"] for o in spec.get("support", ())}
        lines += [f"{label}: {support.get(fields[key], fields[key])}" for key, label in
                  (("high", "High"), ("low", "Low"), ("support", "Would like")) if fields.get(key)]
    return lines or ["(no answer)"]


REVIEW_WORDS = {"kept": "kept", "partly": "partly", "not_yet": "not yet"}


APOLOGY_LABELS = {
    "felt": "How it felt", "why": "Why it hurt", "need": "What they need",
    "body": "What they heard", "act": "What I did", "impact": "How it affected you",
    "responsibility": "It was mine", "regret": "What I regret",
    "change": "What I'll do differently", "setup": "What set me up",
}
APOLOGY_ANSWERS = {"accept": "Thank you, I accept", "more_time": "I need more time",
                   "more_of": "I need more of …"}


def _apology_lines(apology: dict[str, Any], names: dict[str, str]) -> list[str]:
    """An apology step as the viewer may keep it: what each said, in order, and the answer
    (the apology's parts only when this viewer was allowed to read them)."""
    out: list[str] = []
    for move in ("hurt", "mirror", "apology", "reflect"):
        said = apology.get(move)
        if not said:
            continue
        out += [f"**{names.get(said['by'], '?')}**", ""]
        for key, label in APOLOGY_LABELS.items():
            if said.get(key):
                out += [f"{label}:", ""] + [f"> {line}" if line else ">"
                                            for line in said[key].splitlines()] + [""]
    response = apology.get("response")
    if response:
        answer = APOLOGY_ANSWERS.get(response["choice"], response["choice"])
        out += [f"{names.get(response['by'], '?')} answered: {answer}"
                + (f" {response['more']}" if response.get("more") else ""), ""]
    return out


LISTENING_DID = {"share": "shared", "mirror": "said back", "confirm": "confirmed",
                 "correct": "added", "validate": "validated", "empathise": "imagined",
                 "heard": "felt heard"}
LISTENING_HEARD = {"yes": "yes", "partly": "partly", "not_yet": "not yet"}


def _listening_lines(turns: list[dict[str, Any]]) -> list[str]:
    """A listening step's conversation, one move a paragraph, in the order it was spoken."""
    out: list[str] = []
    for turn in turns:
        did = f"**{turn.get('display_name', '?')}** {LISTENING_DID.get(turn['kind'], turn['kind'])}"
        if turn["kind"] == "heard":
            heard = (turn.get("fields") or {}).get("heard")
            out += [f"{did}: {LISTENING_HEARD.get(heard, heard)}", ""]
        elif turn.get("body"):
            out += [f"{did}:", ""] + [f"> {line}" if line else ">"
                                      for line in turn["body"].splitlines()] + [""]
        else:
            out += [did, ""]
    return out


def summary_markdown(summary: dict[str, Any]) -> str:
    session = summary["session"]
    names = {p["user_id"]: p["display_name"] for p in summary["participants"]}
    out = [f"# {session['track']['title']}", ""]
    state = "Finished" if session.get("finished") else "Under way"
    out += [f"{state}. Started {session['created_at']}"
            + (f", finished {session['finished_at']}." if session.get("finished_at") else "."),
            "", "Private to the two of you (and a counsellor you invited). Keep it somewhere "
            "safe.", ""]
    if not summary["steps"]:
        out += ["Nothing has been shared yet.", ""]
    for step in summary["steps"]:
        out += [f"## {step['title']}", ""]
        if step.get("prompt"):
            out += [f"_{step['prompt']}_", ""]
        if not step.get("revealed"):
            out += ["Only your own answer: it hasn't been shown to both of you.", ""]
        for answer in step["answers"]:
            out += [f"**{answer['display_name']}**", ""] + _answer_lines(step, answer) + [""]
        compare = step.get("compare")
        if compare and compare["entries"]:
            earlier = ", ".join(f"{names.get(e['user_id'], '?')} {e['value']}"
                                for e in compare["entries"])
            out += [f"Earlier, at “{compare['title']}”: {earlier}.", ""]
        if step.get("kind") == "listening" and step.get("turns"):
            out += _listening_lines(step["turns"])
        if step.get("apology"):
            out += _apology_lines(step["apology"], names)
        if step.get("items"):  # a boundary step: where each item ended up
            out += ["Where each item ended up:", ""]
            out += [f"- {item['text']} ({item['state']})" for item in step["items"]] + [""]
        for item in (step.get("review") or {}).get("items", ()):  # last time's commitments
            check, record = item.get("check") or {}, item["record"]
            out += [f"- {names.get(record['user_id'], '?')}: {record['text']} — "
                    f"{REVIEW_WORDS.get(check.get('status'), 'not answered yet')}"]
        if (step.get("review") or {}).get("items"):
            out.append("")
        for ack in step.get("acks", []):
            out += [f"{names.get(ack['user_id'], '?')}: {ACK_WORDS.get(ack['ack'], ack['ack'])}"]
        if step.get("acks"):
            out.append("")
    if summary.get("notes"):  # the counsellor's own summary only
        out += ["## Your notes (private: never shown to the couple)", ""]
        for note in summary["notes"]:
            to = f" — to {names.get(note['to_user_id'], '?')}" if note["to_user_id"] else ""
            out += [f"**{note['at']}**{to}", ""] + [f"> {line}" if line else ">"
                                                   for line in note["body"].splitlines()] + [""]
    return "\n".join(out).rstrip() + "\n"
