""""Get help": crisis and domestic-violence resources per country, from a checked file.

The file is the bundled `content/help-resources.yaml` or the one MEND_HELP_RESOURCES names.
It is read and checked once, at start-up: a wrong or malformed list must stop Mend with one
sentence, not surface as a broken dialog in front of someone who needs help.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from server.config import ConfigError, resource_dir

# In the installed package (server/_bundled/content) or beside the checkout.
BUNDLED_PATH = resource_dir("content") / "help-resources.yaml"
INTERNATIONAL = "international"
# own_behaviour: lines for people worried about how they treat a partner (issue 16).
KINDS = ("emergency", "crisis", "domestic_violence", "own_behaviour")
REQUIRED = ("name", "description", "kind")
CONTACTS = ("phone", "text", "url")
OPTIONAL = ("text_message", "hours", "source", "checked")
# When an entry's details were last checked: a calendar date, e.g. "2026-12-08".
CHECKED = re.compile(r"^\d{4}-\d{2}-\d{2}$")
COUNTRY_CODE = re.compile(r"^[A-Z]{2}$")
# Digits, spaces and the usual separators; a tel:/sms: link is built from the digits.
PHONE = re.compile(r"^\+?[0-9][0-9 ().-]*$")
MAX_TEXT = 300


class _Loader(yaml.SafeLoader):
    """YAML without implicit booleans and numbers: every value here is text, and YAML 1.1
    would otherwise read the country key NO (Norway) as false and phone: 000 as 0."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if not tag.endswith((":bool", ":int", ":float"))]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


class HelpResourcesError(ConfigError):
    """The help-resources file is unusable; the message is one sentence naming where."""


@dataclass(frozen=True)
class Resource:
    name: str
    description: str
    kind: str
    phone: str | None = None
    text: str | None = None
    text_message: str | None = None
    url: str | None = None
    hours: str | None = None
    # Where the details were checked (the organisation's own site, as text) and when.
    source: str | None = None
    checked: str | None = None

    def to_dict(self) -> dict[str, str]:
        # Absent fields are left out (the protocol marks them optional with `?`).
        fields = ("name", "description", "phone", "text", "text_message", "url", "hours",
                  "kind", "source", "checked")
        return {f: getattr(self, f) for f in fields if getattr(self, f) is not None}


@dataclass(frozen=True)
class Country:
    code: str
    name: str
    resources: tuple[Resource, ...]


@dataclass(frozen=True)
class HelpResources:
    countries: Mapping[str, Country]

    def country_for(self, code: str | None) -> Country:
        """The country's list, or the international one for an unknown or missing code."""
        key = (code or "").strip().upper()
        if COUNTRY_CODE.match(key) and key in self.countries:
            return self.countries[key]
        return self.countries[INTERNATIONAL]

    def country_list(self) -> list[dict[str, str]]:
        """Countries by name, with the international fallback last."""
        named = sorted((c for k, c in self.countries.items() if k != INTERNATIONAL),
                       key=lambda c: c.name.casefold())
        return [{"code": c.code, "name": c.name}
                for c in (*named, self.countries[INTERNATIONAL])]


def _text(value: Any, where: str, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{where}: {field} must be a non-empty string")
    if len(value) > MAX_TEXT:
        raise ValueError(f"{where}: {field} is longer than {MAX_TEXT} characters")
    return value.strip()


def _number(value: Any, where: str, field: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{where}: {field} must be text, like \"116 123\"")
    value = value.strip()
    if not PHONE.match(value) or sum(ch.isdigit() for ch in value) < 2:
        raise ValueError(f"{where}: {field} {value!r} is not a phone number")
    return value


def _resource(data: Any, where: str) -> Resource:
    if not isinstance(data, dict):
        raise ValueError(f"{where} must be a mapping")
    unknown = sorted(set(data) - set(REQUIRED) - set(CONTACTS) - set(OPTIONAL))
    if unknown:
        raise ValueError(f"{where} has unknown field(s) {', '.join(map(str, unknown))}")
    for field in REQUIRED:
        if field not in data:
            raise ValueError(f"{where} has no {field}")
    kind = data["kind"]
    if kind not in KINDS:
        raise ValueError(f"{where}: kind must be one of {', '.join(KINDS)}, not {kind!r}")
    if all(data.get(field) in (None, "") for field in CONTACTS):
        raise ValueError(f"{where} needs at least one of phone, text or url")
    if "text_message" in data and "text" not in data:
        raise ValueError(f"{where} has a text_message but no text number")
    url = data.get("url")
    if url is not None:
        url = _text(url, where, "url")
        # Only web links: a javascript: or data: URL in this list would run in the page.
        if not re.match(r"^https?://[^\s/]+\.[^\s]*$", url):
            raise ValueError(f"{where}: url {url!r} must start with https:// or http://")
    return Resource(
        name=_text(data["name"], where, "name"),
        description=_text(data["description"], where, "description"),
        kind=kind,
        phone=_number(data["phone"], where, "phone") if "phone" in data else None,
        text=_number(data["text"], where, "text") if "text" in data else None,
        text_message=(_text(data["text_message"], where, "text_message")
                      if "text_message" in data else None),
        url=url,
        hours=_text(data["hours"], where, "hours") if "hours" in data else None,
        source=_text(data["source"], where, "source") if "source" in data else None,
        checked=_checked(data["checked"], where) if "checked" in data else None,
    )


def _checked(value: Any, where: str) -> str:
    value = _text(value, where, "checked")
    try:
        date.fromisoformat(value)
    except ValueError:
        value = ""
    if not CHECKED.match(value):
        raise ValueError(f"{where}: checked must be a date like \"2026-12-08\"")
    return value


def _country(code: Any, data: Any) -> Country:
    where = f"country {code}"
    if code != INTERNATIONAL and not (isinstance(code, str) and COUNTRY_CODE.match(code)):
        raise ValueError(
            f"country key {code!r} must be a two-letter upper-case ISO code or {INTERNATIONAL}"
        )
    if not isinstance(data, dict) or set(data) - {"name", "resources"}:
        raise ValueError(f"{where} must have only a name and resources")
    resources = data.get("resources")
    if not isinstance(resources, list) or not resources:
        raise ValueError(f"{where} must list at least one resource")
    return Country(
        code=code,
        name=_text(data.get("name"), where, "name"),
        resources=tuple(_resource(r, f"{where}, resource {i + 1}")
                        for i, r in enumerate(resources)),
    )


def parse_help_resources(data: Any) -> HelpResources:
    """Check a loaded document; raises ValueError with a sentence fragment saying where."""
    if not isinstance(data, dict) or not isinstance(data.get("countries"), dict):
        raise ValueError("the file must be a mapping with a 'countries' mapping inside")
    extra = sorted(map(str, set(data) - {"countries"}))
    if extra:
        raise ValueError(f"unknown top-level key(s) {', '.join(extra)}")
    countries = {code: _country(code, body) for code, body in data["countries"].items()}
    if INTERNATIONAL not in countries:
        raise ValueError(f"there is no '{INTERNATIONAL}' list for countries not in the file")
    return HelpResources(countries)


def load_help_resources(path: Path | None = None) -> HelpResources:
    """Read and check the file (None: the bundled default). Raises HelpResourcesError."""
    source = path or BUNDLED_PATH
    label = f"The help resources file {source}" if path is None else \
        f"MEND_HELP_RESOURCES ({source})"
    try:
        raw = source.read_text(encoding="utf-8")
    except OSError as exc:
        raise HelpResourcesError(f"{label} cannot be read: {exc.strerror or exc}.") from exc
    try:
        data = yaml.load(raw, Loader=_Loader)  # a SafeLoader; JSON is YAML too
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" near line {mark.line + 1}" if mark is not None else ""
        raise HelpResourcesError(f"{label} is not valid YAML or JSON{at}.") from exc
    try:
        return parse_help_resources(data)
    except ValueError as exc:
        raise HelpResourcesError(f"{label} is not usable: {exc}.") from exc
