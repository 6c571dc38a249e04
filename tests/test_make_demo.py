"""``make demo``: what it installs and where its links point (issue 12, point 4).

``make -n -B`` prints every command the target would run, as if nothing were installed yet,
without running any of them.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = [pytest.mark.skipif(shutil.which("make") is None, reason="needs make"),
              pytest.mark.database_independent]  # run once, not again on PostgreSQL


def dry_run(*args: str) -> str:
    result = subprocess.run(["make", "--no-print-directory", "-n", "-B", "demo", *args],
                            cwd=ROOT, capture_output=True, text=True, check=True, timeout=60)
    return result.stdout


@pytest.mark.parametrize(("args", "url", "serve"), [
    ((), "http://127.0.0.1:5000", "--host 127.0.0.1 --port 5000"),
    (("PORT=5101",), "http://127.0.0.1:5101", "--host 127.0.0.1 --port 5101"),
    # Listening on every interface: links use this machine's loopback, which works from here.
    (("PORT=5101", "HOST=0.0.0.0"), "http://127.0.0.1:5101", "--host 0.0.0.0 --port 5101"),
    (("HOST=demo.example.nhs.uk",), "http://demo.example.nhs.uk:5000",
     "--host demo.example.nhs.uk --port 5000"),
    (("HOST=::1", "PORT=5101"), "http://[::1]:5101", "--host ::1 --port 5101"),
])
def test_the_demo_links_follow_its_host_and_port(args, url, serve):
    commands = dry_run(*args)
    assert f"export SERVER_BASE_URL='{url}'" in commands
    assert commands.index("SERVER_BASE_URL") < commands.index("seed-demo")
    assert f"flask --app wsgi run {serve}" in commands


def test_the_demo_installs_only_what_the_app_needs():
    installs = [line for line in dry_run().splitlines() if re.search(r"\bpip\b.* install ", line)]
    assert installs, "the demo installs the app"
    assert not [line for line in installs if "[test]" in line or "requirements/test" in line]
