"""A session summary as Markdown: what a viewer may keep, readable anywhere.

It reads as a document (issue 16): times in the viewer's own time zone (the browser sends
its IANA name as `tz`; anything unknown falls back to UTC, and the summary names the zone
either way), a counsellor mentioned only when one took part, and Markdown whose blocks are
separated by blank lines so that every item, quote and line renders on its own.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

DEFAULT_ZONE = "UTC"


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def time_zone(name: object) -> str:
    """The IANA zone the viewer asked for, if this server knows it; otherwise UTC."""
    if isinstance(name, str) and len(name) <= 64 and name in _zones():
        return name
    return DEFAULT_ZONE


def local_time(stamp: str | None, zone: str) -> str:
    """An ISO timestamp from the API as a reader would write it: "8 December 2026, 14:05"."""
    if not stamp:
        return ""
    moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    local = moment.astimezone(ZoneInfo(zone))
    return f"{local.day} {local:%B %Y}, {local:%H:%M}"

ACK_WORDS = {"thanks": "Thank you for sharing", "hear_you": "I hear you"}


def _quote(text: str) -> list[str]:
    return [f"> {line}" if line else ">" for line in text.splitlines()] + [""]


def _item(text: str) -> str:
    """Text for one list item: its own line breaks kept inside the item (hard breaks)."""
    return "  \n  ".join(line for line in str(text).splitlines() if line.strip())


def _answer_lines(step: dict[str, Any], answer: dict[str, Any]) -> list[str]:
    """One answer as Markdown blocks, each ending in a blank line (so a line after a list or
    a quote is never swallowed into it)."""
    if answer["skipped"]:
        return ["_Chose not to share this yet._", ""]
    spec = step.get("answer") or {}
    fields = answer.get("fields") or {}
    lines: list[str] = []
    if answer.get("body"):
        lines += _quote(answer["body"])
    if "value" in fields:
        scale = spec.get("scale", spec)
        lines += [f"{fields['value']} on a scale of {scale.get('min', 1)} to "
                  f"{scale.get('max', 10)}", ""]
    if "choices" in fields:
        lines += ([f"- {choice}" for choice in fields["choices"]] or ["(none chosen)"]) + [""]
    items = fields.get("items", ())
    for item in items:  # a boundary list: "I need … / I'll …"
        lines.append("- " + " / ".join(f"{label} {item[part]}" for part, label in
                                       (("need", "I need"), ("offer", "I'll")) if item.get(part)))
    if items:
        lines.append("")
    if "ratings" in fields or "support" in fields or answer.get("numbers_kept"):
        # A check-in: each rating (unless its owner keeps them), then the high, low and wish.
        labels = {r["id"]: r["label"] for r in spec.get("ratings", ())}
        listed = [f"- {labels.get(k, k)}: {v} of {spec.get('max', 10)}"
                  for k, v in (fields.get("ratings") or {}).items()]
        if answer.get("numbers_kept"):
            listed.append(f"- {answer.get('display_name', 'They')} keeps their numbers to "
                          "themselves.")
        support = {o["id"]: o["label"] for o in spec.get("support", ())}
        listed += [f"- {label}: {_item(support.get(fields[key], fields[key]))}" for key, label in
                   (("high", "High"), ("low", "Low"), ("support", "Would like"))
                   if fields.get(key)]
        lines += listed + [""]
    return lines or ["(no answer)", ""]


REVIEW_WORDS = {"kept": "kept", "partly": "partly", "not_yet": "not yet"}
# The partner's optional reply to a commitment, and what was done with a due agreement, in
# a review (server/engine/kinds/commitment.py).
REPLY_WORDS = {**ACK_WORDS, "talk": "Let's talk about this"}
AGREEMENT_WORDS = {"keep": "kept going", "set-aside": "set aside", "withdraw": "withdrawn",
                   "talk": "to talk about"}


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
                out += [f"{label}:", ""] + _quote(said[key])
    response = apology.get("response")
    if response:
        answer = APOLOGY_ANSWERS.get(response["choice"], response["choice"])
        out += [f"{names.get(response['by'], '?')} answered: {answer}"
                + (f" {response['more']}" if response.get("more") else ""), ""]
    return out


LISTENING_DID = {"share": "shared", "mirror": "said back", "confirm": "confirmed",
                 "correct": "added", "validate": "validated", "empathise": "imagined",
                 "heard": "felt heard", "ask": "asked", "answer": "answered"}
LISTENING_HEARD = {"yes": "yes", "partly": "partly", "not_yet": "not yet"}
# How a listening step ended, when it wasn't "both heard" (engine/kinds/listening.py).
LISTENING_OUTCOME = {"later": "You agreed to come back to this another time.",
                     "enough": "One round was enough for that day.",
                     "asked": "Questions can come back another day."}


def _listening_lines(turns: list[dict[str, Any]]) -> list[str]:
    """A listening step's conversation, one move a paragraph, in the order it was spoken."""
    out: list[str] = []
    for turn in turns:
        did = f"**{turn.get('display_name', '?')}** {LISTENING_DID.get(turn['kind'], turn['kind'])}"
        if turn["kind"] == "heard":
            heard = (turn.get("fields") or {}).get("heard")
            out += [f"{did}: {LISTENING_HEARD.get(heard, heard)}", ""]
        elif (turn.get("fields") or {}).get("held"):  # waiting for the counsellor's release
            out += [f"{did}. The answer is shared when the counsellor releases it.", ""]
        elif turn.get("body"):
            out += [f"{did}:", ""] + _quote(turn["body"])
        else:
            out += [did, ""]
    return out


def _counsellor_took_part(summary: dict[str, Any]) -> bool:
    return any(p.get("role") == "counsellor" for p in summary["participants"])


def summary_markdown(summary: dict[str, Any], zone: str = DEFAULT_ZONE) -> str:
    """The summary as a Markdown document, its times in `zone` (an IANA name; see
    `time_zone`)."""
    zone = time_zone(zone)
    session = summary["session"]
    names = {p["user_id"]: p["display_name"] for p in summary["participants"]}
    out = [f"# {session['track']['title']}", ""]
    cancelled = session.get("status") == "cancelled"
    state = "Finished" if session.get("finished") else "Cancelled" if cancelled else "Under way"
    when = f"{state}. Started {local_time(session['created_at'], zone)}"
    if session.get("finished_at"):
        ended = "cancelled" if cancelled else "finished"
        when += f"; {ended} {local_time(session['finished_at'], zone)}"
    out += [f"{when}. Times are in {zone}.", ""]
    who = " and the counsellor you invited" if _counsellor_took_part(summary) else ""
    out += [f"Private to the two of you{who}. Keep it somewhere safe.", ""]
    if not summary["steps"]:
        out += ["Nothing has been shared yet.", ""]
    for step in summary["steps"]:
        out += [f"## {step['title']}", ""]
        if step.get("prompt"):
            out += [f"_{step['prompt']}_", ""]
        if not step.get("revealed"):
            out += ["Only your own answer: it hasn't been shown to both of you.", ""]
        for answer in step["answers"]:
            out += [f"**{answer['display_name']}**", ""] + _answer_lines(step, answer)
        compare = step.get("compare")
        if compare and compare["entries"]:
            earlier = ", ".join(f"{names.get(e['user_id'], '?')} {e['value']}"
                                for e in compare["entries"])
            out += [f"Earlier, at “{compare['title']}”: {earlier}.", ""]
        if step.get("kind") == "listening" and step.get("turns"):
            out += _listening_lines(step["turns"])
            if step.get("outcome") in LISTENING_OUTCOME:
                out += [LISTENING_OUTCOME[step["outcome"]], ""]
        if step.get("apology"):
            out += _apology_lines(step["apology"], names)
        if step.get("items"):  # a boundary step: where each item ended up
            out += ["Where each item ended up:", ""]
            out += [f"- {item['text']} ({item['state']})" for item in step["items"]] + [""]
        review = step.get("review") or {}
        for item in review.get("items", ()):  # last time's commitments
            check, record = item.get("check") or {}, item["record"]
            reply = (item.get("ack") or {}).get("ack")
            out += [f"- {names.get(record['user_id'], '?')}: {record['text']} — "
                    f"{REVIEW_WORDS.get(check.get('status'), 'not answered yet')}"
                    + (f" (reply: {REPLY_WORDS.get(reply, reply)})" if reply else "")]
        for item in review.get("agreements", ()):  # agreements due for their revisit
            answer = item.get("answer") or {}
            out += [f"- Agreement “{item['agreement']['text']}” — "
                    f"{AGREEMENT_WORDS.get(answer.get('move'), 'left for now')}"]
        if review.get("items") or review.get("agreements"):
            out.append("")
        if review.get("skipped"):
            out += ["The rest of the review was skipped that day.", ""]
        # Acknowledgements as a list: one per line (plain lines would run together).
        out += [f"- {names.get(ack['user_id'], '?')}: {ACK_WORDS.get(ack['ack'], ack['ack'])}"
                for ack in step.get("acks", [])]
        if step.get("acks"):
            out.append("")
    if summary.get("notes"):  # the counsellor's own summary only
        out += ["## Your notes (private: never shown to the couple)", ""]
        for note in summary["notes"]:
            to = f" — to {names.get(note['to_user_id'], '?')}" if note["to_user_id"] else ""
            out += [f"**{local_time(note['at'], zone)}**{to}", ""] + _quote(note["body"])
    text = "\n".join(out)
    return re.sub(r"\n{3,}", "\n\n", text).rstrip() + "\n"
