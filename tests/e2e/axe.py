"""axe-core accessibility checks for the browser tests (vendored, no network).

How axe gets into the page: the app's CSP is `script-src 'self'`, so a script can only come
from the app's own origin. Rather than turning CSP off for the contexts we scan (Playwright's
`bypass_csp=True`, which would also hide a real CSP break in the app from these tests), the
browser context answers one reserved same-origin address, `/__e2e__/axe.min.js`, from the
vendored file (`context.route`, see `serve_axe`). The request never reaches the server, and
the page keeps exactly the CSP it ships with.

What fails, and why:
* Rules: WCAG 2.0/2.1/2.2 A and AA, plus axe's best practices (landmarks, one main, heading
  order, unique landmark names...). Mend is used by people who may be upset or in a hurry,
  often on a phone with a screen reader; the structure rules are what make a long session
  page navigable by headings and landmarks, so they are in.
* Impact: serious and critical always fail. Moderate and minor fail too: the issue asks for
  a check that is *clean* on every screen, the app is small enough to keep at zero, and a
  "report but pass" list only grows. Every violation is listed in the assertion message
  with its impact, rule, help text and the offending elements, most severe first. If one
  day a rule must be waived, add it to `WAIVED` with the reason; never widen the filter.
* `incomplete` results (axe could not decide, e.g. contrast over a gradient) are not
  failures; they are counted in the scan log so a reviewer can look.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

AXE_VERSION = "4.14.1"
AXE_DIR = Path(__file__).parent / "vendor" / f"axe-core-{AXE_VERSION}"
AXE_FILE = AXE_DIR / "axe.min.js"
AXE_PATH = "/__e2e__/axe.min.js"  # reserved; never served by Mend itself

RUN_OPTIONS = {
    "runOnly": {
        "type": "tag",
        "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"],
    },
    "resultTypes": ["violations", "incomplete"],
}
IMPACT_ORDER = {"critical": 0, "serious": 1, "moderate": 2, "minor": 3}
FAILING_IMPACTS = {"critical", "serious", "moderate", "minor"}  # all of them: see above

# rule id -> why it is waived. Empty on purpose.
WAIVED: dict[str, str] = {}


@dataclass
class AxeLog:
    """What was scanned, for the report and for the test's own coverage assertion."""

    screens: list[str] = field(default_factory=list)
    incomplete: dict[str, list[str]] = field(default_factory=dict)

    def report(self) -> str:
        """One line per scan that left something for a person to check ("needs review")."""
        lines = [f"axe-core {AXE_VERSION}: {len(self.screens)} scans, no violations"]
        lines += [f"  needs review on {screen}: {', '.join(items)}"
                  for screen, items in self.incomplete.items()]
        return "\n".join(lines)


def serve_axe(context, base_url: str) -> None:
    """Let pages of this context load axe-core from the app's own origin (CSP stays on)."""
    body = AXE_FILE.read_bytes()

    def fulfil(route) -> None:
        route.fulfill(status=200, body=body, content_type="application/javascript")

    context.route(f"{base_url.rstrip('/')}{AXE_PATH}", fulfil)


def inject(page) -> None:
    """Load axe into the current document (again after a full navigation)."""
    if page.evaluate("typeof window.axe === 'undefined'"):
        page.add_script_tag(url=AXE_PATH)
    version = page.evaluate("window.axe && window.axe.version")
    assert version == AXE_VERSION, f"axe-core did not load from {AXE_PATH} (got {version!r})"


def scan(page, screen: str, log: AxeLog | None = None, *, include: str | None = None) -> dict:
    """Run axe on the page (or on `include`, a CSS selector) and fail on any violation."""
    inject(page)
    # From the top: a sticky bar lying over text mid-page leaves axe unable to judge that
    # text's contrast ("needs review"); at the top the bars cover nothing.
    page.evaluate("window.scrollTo(0, 0)")
    context = include or "document"
    results = page.evaluate(
        """async ([selector, options]) => {
            const target = selector === 'document' ? document : { include: [[selector]] };
            const r = await window.axe.run(target, options);
            const slim = (items) => items.map((v) => ({
                id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
                nodes: v.nodes.map((n) => ({
                    target: n.target.join(' '), html: n.html.slice(0, 200),
                    summary: (n.failureSummary || '').slice(0, 300) })),
            }));
            return { violations: slim(r.violations), incomplete: slim(r.incomplete) };
        }""",
        [context, RUN_OPTIONS],
    )
    if log is not None:
        log.screens.append(screen)
        if results["incomplete"]:
            log.incomplete[screen] = [
                f"{item['id']} on {len(item['nodes'])} element(s), e.g. "
                f"{item['nodes'][0]['target']}: {_reason(item['nodes'][0]['summary'])}"
                for item in results["incomplete"]
            ]
    failing = [
        v for v in results["violations"]
        if v["id"] not in WAIVED and (v["impact"] or "minor") in FAILING_IMPACTS
    ]
    assert not failing, f"axe-core {AXE_VERSION} on {screen!r}:\n" + describe(failing)
    return results


def describe(violations: list[dict]) -> str:
    """Most severe first: impact, rule, help, then each element and what is wrong with it."""
    lines = []
    ordered = sorted(violations, key=lambda v: IMPACT_ORDER.get(v["impact"] or "minor", 9))
    for v in ordered:
        lines.append(f"[{v['impact']}] {v['id']}: {v['help']} ({v['helpUrl']})")
        for node in v["nodes"][:5]:
            lines.append(f"    {node['target']}  {node['html']}")
            if node["summary"]:
                lines.append("      " + node["summary"].replace("\n", "\n      "))
        if len(v["nodes"]) > 5:
            lines.append(f"    … and {len(v['nodes']) - 5} more")
    return "\n".join(lines)


def _reason(summary: str) -> str:
    """The first line of axe's explanation after its "Fix any of the following:" header."""
    lines = [line.strip() for line in summary.splitlines() if line.strip()]
    return lines[1] if len(lines) > 1 else (lines[0] if lines else "")
