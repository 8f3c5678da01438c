"""The "Get help" list: the bundled default is complete and well-formed, a country's list is
picked sensibly, and a bad MEND_HELP_RESOURCES file is refused with one clear sentence."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from server.config import ConfigError
from server.services.help import (
    BUNDLED_PATH,
    INTERNATIONAL,
    KINDS,
    HelpResourcesError,
    load_help_resources,
)

REQUIRED_COUNTRIES = ("US", "CA", "GB", "IE", "AU", "NZ", "DE", "FR", "ES", "NL", "IN", "ZA")


def test_the_bundled_default_covers_the_required_countries_and_checks_out():
    resources = load_help_resources()
    assert set(REQUIRED_COUNTRIES) | {INTERNATIONAL} <= set(resources.countries)
    for code, country in resources.countries.items():
        kinds = {r.kind for r in country.resources}
        assert "emergency" in kinds, f"{code} has no emergency number"
        assert kinds <= set(KINDS)
        for r in country.resources:
            assert r.phone or r.text or r.url
            if r.url:
                assert r.url.startswith("https://"), r.url
            for number in (r.phone, r.text):
                if number:
                    assert re.fullmatch(r"\+?[0-9][0-9 ().-]*", number), number


CHECKED_ON = "2026-12-08"


def test_every_bundled_entry_says_where_and_when_it_was_checked():
    """An editor re-checking a number needs the organisation's own site and the date it was
    last compared (issue 16): every entry carries both."""
    for code, country in load_help_resources().countries.items():
        for r in country.resources:
            assert r.source and "." in r.source, f"{code}: {r.name} has no source"
            assert not r.source.startswith(("http://", "https://")), r.source  # text, not a link
            assert r.checked == CHECKED_ON, f"{code}: {r.name} checked {r.checked!r}"
    raw = BUNDLED_PATH.read_text(encoding="utf-8")
    # The header says how they were checked, honestly: not by calling, no network.
    assert "Nothing was checked by calling" in raw and "no network" in raw


def test_the_fallback_assumes_no_emergency_number_is_universal():
    """Another country's list tells you to find your local number: it offers none (112 is
    not the emergency number everywhere) and names no digits at all."""
    fallback = load_help_resources().country_for(INTERNATIONAL)
    emergency = [r for r in fallback.resources if r.kind == "emergency"]
    assert emergency, "the fallback must still say what to do in immediate danger"
    for r in fallback.resources:
        assert r.phone is None and r.text is None, r.name
        assert not re.search(r"\d", r.name + r.description), r.description
    assert any("find it" in r.description for r in emergency)


def _line(code: str, kind: str, *words: str) -> list[str]:
    return [r.name for r in load_help_resources().country_for(code).resources
            if r.kind == kind and all(w.casefold() in (r.name + " " + r.description).casefold()
                                      for w in words)]


def test_abuse_lines_for_men_lgbtq_people_and_people_worried_about_themselves():
    """Abuse isn't only done to women by men: where a country has lines for men, for LGBTQ+
    people and for people worried about their own behaviour, they are listed."""
    assert "Men's Advice Line" in _line("GB", "domestic_violence", "for men")
    assert _line("GB", "domestic_violence", "LGBT")
    assert _line("GB", "own_behaviour", "Respect")
    assert _line("US", "domestic_violence", "whatever their gender")
    assert _line("US", "own_behaviour")
    assert _line("AU", "own_behaviour", "Men's Referral Service")
    assert _line("AU", "domestic_violence", "LGBTIQ+")
    assert _line("IE", "domestic_violence", "for men")
    assert _line("DE", "domestic_violence", "Männern")
    for code in ("US", "GB", "IE", "AU", "NZ", "DE", "FR", "NL"):
        assert _line(code, "own_behaviour"), f"{code} lists nothing for one's own behaviour"


def test_canada_has_abuse_lines_to_call():
    """Not only a shelter map: phone numbers for someone being abused in Canada."""
    calls = [r for r in load_help_resources().country_for("CA").resources
             if r.kind == "domestic_violence" and r.phone]
    assert len(calls) >= 2


def test_a_few_numbers_people_rely_on_are_exactly_right():
    """Spot checks against each service's published number (a typo here is dangerous)."""
    resources = load_help_resources()

    def numbers(code: str) -> dict[str, str | None]:
        return {r.name: r.phone for r in resources.country_for(code).resources}

    assert numbers("US")["988 Suicide & Crisis Lifeline"] == "988"
    assert numbers("US")["National Domestic Violence Hotline"] == "1-800-799-7233"
    assert numbers("GB")["Samaritans"] == "116 123"
    assert numbers("GB")["National Domestic Abuse Helpline (England)"] == "0808 2000 247"
    assert numbers("AU")["Lifeline"] == "13 11 14"
    assert numbers("AU")["1800RESPECT"] == "1800 737 732"
    assert numbers("CA")["9-8-8 Suicide Crisis Helpline"] == "988"
    assert numbers("GB")["Respect Phoneline"] == "0808 802 4040"
    assert numbers("GB")["Men's Advice Line"] == "0808 801 0327"
    assert numbers("GB")["Galop National LGBT+ Domestic Abuse Helpline"] == "0800 999 5428"
    assert numbers("AU")["Men's Referral Service"] == "1300 766 491"
    hotline = next(r for r in resources.country_for("US").resources if r.text == "88788")
    assert hotline.text_message == "START"


@pytest.mark.parametrize(("asked", "got"), [
    ("GB", "GB"), ("gb", "GB"), (" au ", "AU"), ("XX", INTERNATIONAL), ("", INTERNATIONAL),
    (None, INTERNATIONAL), ("international", INTERNATIONAL), ("G", INTERNATIONAL),
    ("<script>", INTERNATIONAL), ("countries", INTERNATIONAL),
])
def test_a_country_is_picked_case_blind_and_anything_unknown_gets_the_international_list(
        asked, got):
    assert load_help_resources().country_for(asked).code == got


def test_the_country_list_is_by_name_with_the_fallback_last():
    listed = load_help_resources().country_list()
    names = [c["name"] for c in listed[:-1]]
    assert names == sorted(names, key=str.casefold)
    assert listed[-1]["code"] == INTERNATIONAL


def _write(tmp_path: Path, data, name: str = "help.yaml") -> Path:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data), encoding="utf-8")
    return path


def _valid() -> dict:
    return {"countries": {
        "GB": {"name": "United Kingdom", "resources": [
            {"name": "Samaritans", "description": "Someone to talk to.", "kind": "crisis",
             "phone": "116 123", "url": "https://www.samaritans.org", "hours": "24/7"}]},
        "international": {"name": "Another country", "resources": [
            {"name": "Emergency", "description": "Your local number.", "kind": "emergency",
             "phone": "112"}]},
    }}


def test_an_operators_own_file_is_used_and_json_works_too(tmp_path):
    data = _valid()
    for path in (_write(tmp_path, data), _write(tmp_path, json.dumps(data), "help.json")):
        resources = load_help_resources(path)
        assert set(resources.countries) == {"GB", INTERNATIONAL}
        assert resources.country_for("US").code == INTERNATIONAL


def _broken(mutate):
    data = _valid()
    mutate(data)
    return data


GB = ("countries", "GB", "resources", 0)


def _set(data, path, key, value):
    node = data
    for step in path:
        node = node[step]
    node[key] = value


BROKEN = {
    "not YAML": ("countries: [unclosed\n  - {", "not valid YAML or JSON near line"),
    "a list at the top": ("- 1\n- 2\n", "must be a mapping with a 'countries' mapping"),
    "no international list": (
        _broken(lambda d: d["countries"].pop(INTERNATIONAL)), "no 'international' list"),
    "a misspelt kind": (
        _broken(lambda d: _set(d, GB, "kind", "crisiss")),
        "country GB, resource 1: kind must be one of emergency, crisis, domestic_violence, "
        "own_behaviour, not 'crisiss'"),
    "a checked date that isn't one": (
        _broken(lambda d: _set(d, GB, "checked", "last week")),
        'country GB, resource 1: checked must be a date like "2026-12-08"'),
    "a javascript: url": (
        _broken(lambda d: _set(d, GB, "url", "javascript:alert(1)")),
        "url 'javascript:alert(1)' must start with https:// or http://"),
    "no way to reach anyone": (
        _broken(lambda d: [d["countries"]["GB"]["resources"][0].pop(k) for k in ("phone", "url")]),
        "needs at least one of phone, text or url"),
    "an unknown field": (
        _broken(lambda d: _set(d, GB, "phon", "116 123")), "unknown field(s) phon"),
    "a lower-case country code": (
        _broken(lambda d: d["countries"].__setitem__("gb", d["countries"].pop("GB"))),
        "country key 'gb' must be a two-letter upper-case ISO code"),
    "letters in a phone number": (
        _broken(lambda d: _set(d, GB, "phone", "call us")), "phone 'call us' is not a phone"),
    "a country with no resources": (
        _broken(lambda d: _set(d, ("countries", "GB"), "resources", [])),
        "country GB must list at least one resource"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_a_bad_file_is_refused_with_one_sentence_that_says_where(tmp_path, case):
    content, expected = BROKEN[case]
    path = _write(tmp_path, content)
    with pytest.raises(HelpResourcesError) as caught:
        load_help_resources(path)
    message = str(caught.value)
    assert expected in message
    assert message.startswith(f"MEND_HELP_RESOURCES ({path})")
    assert "\n" not in message and message.endswith(".")
    # `mend` prints ConfigErrors as one line and exits instead of showing a traceback.
    assert isinstance(caught.value, ConfigError)


def test_a_missing_file_is_refused_clearly(tmp_path):
    with pytest.raises(HelpResourcesError, match=r"cannot be read: No such file or directory\."):
        load_help_resources(tmp_path / "nope.yaml")


def test_yaml_never_turns_a_code_or_a_number_into_something_else(tmp_path):
    """Norway's code NO is not `false`, and Australia's 000 is not 0."""
    path = _write(tmp_path, (
        "countries:\n"
        "  NO:\n    name: Norway\n    resources:\n"
        "      - {name: E, description: D, kind: emergency, phone: 112, text: 0047}\n"
        "  international:\n    name: Anywhere\n    resources:\n"
        "      - {name: E, description: D, kind: emergency, phone: 000}\n"))
    resources = load_help_resources(path)
    assert resources.country_for("NO").resources[0].phone == "112"
    assert resources.country_for("NO").resources[0].text == "0047"
    assert resources.country_for(None).resources[0].phone == "000"


def test_the_bundled_path_is_inside_the_content_folder():
    assert BUNDLED_PATH.name == "help-resources.yaml" and BUNDLED_PATH.exists()
