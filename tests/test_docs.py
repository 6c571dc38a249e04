"""The README and the docs are self-contained: every link they make resolves inside the
repository, and none points at files outside it (issue 12, point 4)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

# No app and no database: run once, not again on PostgreSQL (Makefile).
pytestmark = pytest.mark.database_independent

ROOT = Path(__file__).resolve().parent.parent
DOCS = ["README.md", "CONTRIBUTING.md", "bench/README.md", *sorted(
    str(p.relative_to(ROOT)) for p in (ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(([^)\s#]+)(?:#[^)]*)?\)")  # [text](target), not http(s) or mailto
CODE_PATH = re.compile(r"`(\.\./[^`]*)`")  # a path in backticks that climbs out


@pytest.mark.parametrize("name", DOCS)
def test_every_link_stays_in_the_repository_and_resolves(name):
    path = ROOT / name
    text = path.read_text()
    for target in LINK.findall(text):
        if re.match(r"[a-z]+:", target):
            continue
        resolved = (path.parent / target).resolve()
        assert resolved.is_relative_to(ROOT), f"{name} links outside the repository: {target}"
        assert resolved.exists(), f"{name} links to a missing file: {target}"
    climbing = [p for p in CODE_PATH.findall(text)
                if not (path.parent / p).resolve().is_relative_to(ROOT)]
    assert climbing == [], f"{name} refers to files outside the repository"


def test_the_readme_links_the_design_contributing_and_licence():
    readme = (ROOT / "README.md").read_text()
    for target in ("docs/design.md", "docs/anonymity.md", "CONTRIBUTING.md", "LICENSE"):
        assert f"]({target})" in readme
    assert "PORT" in readme and "HOST" in readme  # make demo PORT=5101 HOST=0.0.0.0
