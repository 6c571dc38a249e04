"""The dependency locks (issue 10, point 8): every dependency pyproject.toml names is pinned, with
its hashes, in the lock the Makefile installs from. No network: the files alone are read.

``requirements/app.lock`` is what the app needs to run, ``requirements/test.lock`` that and the
test tools; ``make lock`` writes both. A dependency added to pyproject.toml without ``make lock``
fails here, before any install would quietly fetch it unpinned.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

# No app and no database: run once, not again on PostgreSQL (Makefile).
pytestmark = pytest.mark.database_independent

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
# A pin and the hash lines that follow it, as pip-compile --generate-hashes writes them.
ENTRY = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>\S+)(?P<rest>(?:\s*\\\n"
                   r"\s+--hash=sha256:[0-9a-f]{64})*)", re.MULTILINE)


def requirements(*extras: str) -> list[Requirement]:
    listed = list(PYPROJECT["project"]["dependencies"])
    for extra in extras:
        listed += PYPROJECT["project"]["optional-dependencies"][extra]
    listed += PYPROJECT["build-system"]["requires"]  # installed without build isolation
    return [Requirement(text) for text in listed]


def pins(lock: str) -> dict[str, tuple[str, int]]:
    """``{canonical name: (version, number of hashes)}``."""
    text = (ROOT / "requirements" / lock).read_text(encoding="utf-8")
    found = {canonicalize_name(m["name"]): (m["version"], m["rest"].count("--hash=sha256:"))
             for m in ENTRY.finditer(text)}
    listed = re.findall(r"^[A-Za-z0-9][^\s#]*", text, re.MULTILINE)
    assert len(found) == len(listed), f"{lock}: a line that is not a pin with hashes"
    return found


@pytest.mark.parametrize(("lock", "extras"), [("app.lock", ()), ("test.lock", ("test",))])
def test_every_dependency_is_pinned_with_hashes(lock, extras):
    pinned = pins(lock)
    missing = [str(r) for r in requirements(*extras) if canonicalize_name(r.name) not in pinned]
    assert missing == [], f"not in {lock}: run make lock"
    outside = [f"{r} (locked {pinned[canonicalize_name(r.name)][0]})"
               for r in requirements(*extras)
               if not r.specifier.contains(pinned[canonicalize_name(r.name)][0],
                                           prereleases=True)]
    assert outside == [], f"{lock} pins versions pyproject.toml excludes: run make lock"
    assert [name for name, (_, hashes) in pinned.items() if hashes == 0] == []


def test_the_app_lock_is_the_test_lock_without_the_test_tools():
    app, test = pins("app.lock"), pins("test.lock")
    assert {name: app[name][0] for name in app} == {name: test[name][0] for name in app}
    tools = {canonicalize_name(r.name) for r in requirements("test")} - {
        canonicalize_name(r.name) for r in requirements()}
    assert tools and not tools & app.keys()


def test_the_makefile_installs_from_the_locks_with_hashes_only():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    for lock in ("APP_LOCK", "TEST_LOCK"):
        assert f"install --require-hashes -r $({lock})" in makefile
    assert makefile.count("install --no-deps --no-build-isolation -e .") == 2
    assert "install -e" not in makefile and "'.[test]'" not in makefile
