"""Browser tests: a real `mend run` process and Debian's Chromium driven by Playwright.

Two partners are two browser contexts (separate cookie jars), like two phones.
"""

from __future__ import annotations

import contextlib
import json
import re
import sys
from pathlib import Path

import pytest

from tests.conftest import require
from tests.e2e import axe
from tests.live.conftest import MendServer

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).parent / "artifacts"
EXPECT_TIMEOUT_MS = 10_000


@pytest.fixture
def mend_server(tmp_path):
    data_dir = tmp_path / "mend-data"
    data_dir.mkdir()
    server = MendServer(data_dir, "gevent").start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser():
    require(Path(CHROMIUM).exists(), f"{CHROMIUM} is missing (apt-get install chromium)")
    try:
        from playwright.sync_api import expect, sync_playwright
    except ImportError:  # pragma: no cover - the test extras install it
        require(False, "the playwright package is not installed")
    expect.set_options(timeout=EXPECT_TIMEOUT_MS)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class Person:
    """One partner: their own browser context (cookies) and page, with JS errors recorded."""

    def __init__(self, browser, base_url: str, name: str, viewport: dict):
        self.name = name
        self.base_url = base_url
        self.context = browser.new_context(viewport=viewport, base_url=base_url)
        self.context.set_default_timeout(EXPECT_TIMEOUT_MS)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.exceptions: list[str] = []  # uncaught JS errors only (no console messages)
        self.page.on("pageerror", self._page_error)
        # Console errors too: a broken WebSocket close or a CSP refusal shows up only there.
        self.page.on("console", self._console)
        # Everything the server sent this person over Socket.IO, either transport, and
        # everything this person's browser sent (websocket frames and polling POST bodies).
        self._frames: list[str] = []
        self._polls: list = []
        self._sent: list[str] = []
        self.page.on("websocket", self._watch_websocket)
        self.page.on(
            "requestfinished", lambda req: "/socket.io/" in req.url and self._polls.append(req)
        )
        self.page.on("request", self._watch_post)

    def _page_error(self, error) -> None:
        self.errors.append(str(error))
        self.exceptions.append(str(error))

    def _console(self, message) -> None:
        # The logged-out probe of /api/v1/me answers 401 by design; the browser logs it.
        if message.type == "error" and "status of 401" not in message.text:
            self.errors.append(message.text)

    def _watch_websocket(self, ws) -> None:
        ws.on("framereceived", lambda payload: self._frames.append(_text(payload)))
        ws.on("framesent", lambda payload: self._sent.append(_text(payload)))

    def _watch_post(self, req) -> None:
        if "/socket.io/" in req.url and req.method == "POST":
            self._sent.append(req.post_data or "")

    def received(self) -> str:
        """All Socket.IO traffic received so far (websocket frames and polling bodies)."""
        bodies = []
        for req in self._polls:
            with contextlib.suppress(Exception):  # a body the browser already dropped
                bodies.append(req.response().body().decode("utf-8", "replace"))
        return "\n".join(self._frames + bodies)

    def emitted(self, event: str) -> list:
        """The payloads of every `event` this browser emitted, in order (either transport)."""
        payloads = []
        for chunk in self._sent:
            for packet in chunk.split("\x1e"):  # engine.io's separator in polling bodies
                match = _EVENT_PACKET.match(packet)
                if not match:
                    continue
                with contextlib.suppress(ValueError):
                    name, *args = json.loads(match.group(1))
                    if name == event:
                        payloads.append(args[0] if args else None)
        return payloads

    def close(self) -> None:
        self.context.close()


# engine.io "message" (4) carrying a Socket.IO EVENT (2), an optional ack id, then the array.
_EVENT_PACKET = re.compile(r"^42\d*(\[.*\])$", re.DOTALL)


@pytest.fixture
def person(browser, mend_server):
    """Make someone with a browser of their own (axe served), closed after the test:
    `person("Robin")`, `person("Kit", width=390)`."""
    people: list[Person] = []

    def new(name: str = "Robin", width: int = 1280) -> Person:
        someone = Person(browser, mend_server.url, name, {"width": width, "height": 900})
        axe.serve_axe(someone.context, mend_server.url)
        people.append(someone)
        return someone

    yield new
    for someone in people:
        someone.close()


def _text(payload) -> str:
    return payload if isinstance(payload, str) else payload.decode("utf-8", "replace")


@pytest.fixture
def partners(browser, mend_server, request):
    """Two people in separate browser contexts: a desktop and a phone-sized one."""
    people = [
        Person(browser, mend_server.url, "Alex", {"width": 1200, "height": 900}),
        Person(browser, mend_server.url, "Sam", {"width": 390, "height": 844}),
    ]
    yield people
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        for person in people:
            with contextlib.suppress(Exception):  # best effort on the way out
                person.page.screenshot(
                    path=str(ARTIFACTS / f"failure-{request.node.name}-{person.name}.png"),
                    full_page=True,
                )
        sys.stderr.write(f"\n--- mend server log ---\n{mend_server.log()[-4000:]}\n")
    for person in people:
        person.close()


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


@contextlib.contextmanager
def people_with_track(browser, tmp_path: Path, track_id: str, track_yaml: str, *,
                      scan: bool = True):
    """Alex (1200 px) and Sam (390 px) on a `mend run` whose content is the shipped tracks
    plus one test track; `scan` lets their pages load axe-core for accessibility checks."""
    import shutil

    from tests.e2e import axe

    content = tmp_path / "content"
    root = Path(__file__).resolve().parents[2]
    shutil.copytree(root / "content", content, ignore=shutil.ignore_patterns("drafts"))
    (content / "tracks" / f"{track_id}.yaml").write_text(track_yaml)
    data_dir = tmp_path / "mend-data"
    data_dir.mkdir()
    server = MendServer(data_dir, "gevent", env_extra={"MEND_CONTENT_DIR": str(content)}).start()
    people = [Person(browser, server.url, "Alex", {"width": 1200, "height": 900}),
              Person(browser, server.url, "Sam", {"width": 390, "height": 844})]
    if scan:
        for person in people:
            axe.serve_axe(person.context, server.url)
    try:
        yield people
    finally:
        for person in people:
            person.close()
        server.stop()

