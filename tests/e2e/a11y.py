"""Accessibility checks with axe-core (bundled offline in axe-playwright-python).

    from a11y import assert_accessible   # tests/e2e is on sys.path while pytest runs
    assert_accessible(page)                    # whole page: WCAG 2.0/2.1/2.2 A and AA rules and
                                               # axe's best practices (region, heading-order, ...)
    assert_accessible(page, context="main")    # one region
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

WCAG_TAGS: tuple[str, ...] = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa")
# axe's best practices are not WCAG failures, but each (content outside every landmark, two
# landmarks with one name, a skipped heading level) makes a page harder to move around with a
# screen reader, so every check enforces them too.
DEFAULT_TAGS: tuple[str, ...] = (*WCAG_TAGS, "best-practice")

_axe = None


def _engine():
    global _axe
    if _axe is None:
        from axe_playwright_python.sync_playwright import Axe

        _axe = Axe()
    return _axe


def axe_violations(page: Any, *, context: str | None = None, tags: Sequence[str] = DEFAULT_TAGS,
                   disable_rules: Iterable[str] = ()) -> list[dict[str, Any]]:
    """Run axe-core on the page (or the ``context`` CSS selector); its violations."""
    options: dict[str, Any] = {
        "runOnly": {"type": "tag", "values": list(tags)},
        "resultTypes": ["violations"],
    }
    disabled = list(disable_rules)
    if disabled:
        options["rules"] = {rule: {"enabled": False} for rule in disabled}
    results = _engine().run(page, context=context, options=options)
    return list(results.response["violations"])


def format_violations(violations: Sequence[dict[str, Any]], where: str = "") -> str:
    """A readable list: rule id, impact, help text and link, then each failing element."""
    lines = [f"{len(violations)} accessibility violation(s){f' on {where}' if where else ''}:"]
    for violation in violations:
        lines.append(f"- {violation['id']} [{violation.get('impact') or 'unknown'}] "
                     f"{violation['help']} ({violation.get('helpUrl', '')})")
        for node in violation.get("nodes", []):
            target = " ".join(
                ", ".join(t) if isinstance(t, list) else str(t) for t in node.get("target", []))
            lines.append(f"    at {target}")
            summary = (node.get("failureSummary") or "").strip().replace("\n", "\n       ")
            if summary:
                lines.append(f"       {summary}")
    return "\n".join(lines)


def assert_accessible(page: Any, *, context: str | None = None,
                      tags: Sequence[str] = DEFAULT_TAGS,
                      disable_rules: Iterable[str] = ()) -> None:
    """Fail with a readable list if axe-core finds WCAG 2.0/2.1/2.2 A/AA or best-practice
    violations."""
    violations = axe_violations(page, context=context, tags=tags, disable_rules=disable_rules)
    if violations:
        where = page.url + (f" ({context})" if context else "")
        raise AssertionError(format_violations(violations, where))


def assert_fits(page: Any, width: int = 360, timeout_ms: int = 5000) -> None:
    """The page needs no sideways scrolling at ``width`` px (WCAG 1.4.10, reflow).

    Waits (up to ``timeout_ms``) for the layout to settle rather than measuring at once: the
    NHS header's script folds navigation that does not fit into "More" after the page has
    loaded, and on a busy machine the first measurement can come before it has.
    """
    try:
        # A function, not an expression: Playwright polls an expression with eval, which the
        # app's Content-Security-Policy (no 'unsafe-eval') refuses.
        page.wait_for_function("width => document.documentElement.scrollWidth <= width",
                               arg=width, timeout=timeout_ms)
    except Exception as error:  # Playwright's TimeoutError: report the width it stayed at
        found = page.evaluate("document.documentElement.scrollWidth")
        raise AssertionError(f"{page.url} is {found} px wide at a {width} px viewport") from error
