"""Real-browser fixtures: the app served on 127.0.0.1 and Chromium driven by Playwright.

* ``live_server`` — base URL (``http://127.0.0.1:PORT``) of the test's ``app`` served by Werkzeug
  in a background thread (threaded). ``app``, ``make_user`` etc. are the same objects as in the
  other tests, so data made with them is what the browser sees. Its database follows the usual
  rules (a SQLite file per test, or the session's PostgreSQL database emptied after each test).
* ``browser`` — one headless Chromium (``$CHROMIUM_PATH``, default ``/usr/bin/chromium``) per
  session; ``page`` (1280x900) and ``mobile_page`` (360x740, touch) get a new context per test,
  ``new_context(mobile=False, **options)`` makes more (e.g. a second person).
* Every context is guarded: a request to any host other than the live server is aborted, and the
  test fails at teardown listing them (``blocked_requests``).
* On failure each open page's screenshot, HTML and console log go to ``test-artifacts/``.
* Every test in this folder is marked ``e2e``.
* Accessibility: ``from a11y import assert_accessible`` (tests/e2e/a11y.py).
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from helpers import forget_browser_codes, free_port

E2E_DIR = Path(__file__).resolve().parent
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
]
DESKTOP = {"viewport": {"width": 1280, "height": 900}}
MOBILE = {"viewport": {"width": 360, "height": 740}, "is_mobile": True, "has_touch": True,
          "device_scale_factor": 2}
DEFAULT_TIMEOUT_MS = 10_000
NAVIGATION_TIMEOUT_MS = 20_000


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # This hook sees every collected item, not only this folder's.
    for item in items:
        if item.path.is_relative_to(E2E_DIR):
            item.add_marker(pytest.mark.e2e)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):
    # Record each phase's report on the item (item.rep_setup, rep_call, rep_teardown), so
    # fixtures can tell in their teardown whether the test failed.
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


def _failed(item: pytest.Item) -> bool:
    return any(getattr(getattr(item, f"rep_{when}", None), "failed", False)
               for when in ("setup", "call"))


# --------------------------------------------------------------------------------------------
# The live server


@pytest.fixture
def live_server_port() -> int:
    return free_port()


@pytest.fixture
def app_config(app_config: dict[str, Any], live_server_port: int) -> dict[str, Any]:
    # Links in mail must point at the live server the browser uses.
    return {**app_config, "SERVER_BASE_URL": f"http://127.0.0.1:{live_server_port}"}


@pytest.fixture(autouse=True)
def _fresh_browser_codes() -> None:
    """Each test's database is new: no TOTP code has been used in it yet."""
    forget_browser_codes()


@pytest.fixture
def live_server(app, live_server_port: int) -> Iterator[str]:
    """Serve ``app`` on 127.0.0.1 in a background thread, as ``flask run`` (``make demo``) does:
    yields the base URL (no slash). Nothing sits in between: the app itself hands mail to
    delivery once a response is sent, even when Chromium resets the connection of a redirect
    (``tests/test_mail_after_request.py``)."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", live_server_port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              name="live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{live_server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


# --------------------------------------------------------------------------------------------
# The browser


@pytest.fixture(scope="session")
def playwright_driver() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright_driver: Any) -> Iterator[Any]:
    if not Path(CHROMIUM).is_file():
        pytest.fail(f"Chromium not found at {CHROMIUM}: run `make system-deps` (installs Debian's "
                    "chromium) or set CHROMIUM_PATH", pytrace=False)
    browser = playwright_driver.chromium.launch(executable_path=CHROMIUM, headless=True,
                                                args=CHROMIUM_ARGS)
    yield browser
    browser.close()


class RequestGuard:
    """Route handler letting through only requests to the live server; records the others."""

    def __init__(self, base_url: str, blocked: list[str]) -> None:
        self.netloc = urlsplit(base_url).netloc
        self.blocked = blocked

    def __call__(self, route: Any) -> None:
        request = route.request
        parts = urlsplit(request.url)
        if parts.scheme in {"data", "blob", "about"} or (
                parts.scheme in {"http", "https", "ws", "wss"} and parts.netloc == self.netloc):
            route.continue_()
            return
        self.blocked.append(f"{request.method} {request.url} ({request.resource_type}, "
                            f"from {request.frame.url if request.frame else '?'})")
        route.abort("blockedbyclient")


@pytest.fixture
def blocked_requests() -> Iterator[list[str]]:
    """Requests the pages tried to make to other hosts (CDNs, remote fonts...): must stay empty."""
    blocked: list[str] = []
    yield blocked
    if blocked:
        pytest.fail("pages requested hosts other than the live server (everything must be "
                    "served by the app itself):\n  " + "\n  ".join(blocked), pytrace=False)


def _artifact_stem(item: pytest.Item) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", item.nodeid).strip("_")[:150]


def _save_artifacts(directory: Path, stem: str, page: Any, log: list[str]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    try:
        page.screenshot(path=str(directory / f"{stem}.png"), full_page=True, timeout=5_000)
    except Exception as exc:  # the page may have crashed or closed: keep what we can
        log.append(f"(screenshot failed: {exc})")
    try:
        (directory / f"{stem}.html").write_text(page.content(), encoding="utf-8")
    except Exception as exc:
        log.append(f"(HTML capture failed: {exc})")
    (directory / f"{stem}.log").write_text(f"URL: {page.url}\n" + "\n".join(log) + "\n",
                                           encoding="utf-8")


@pytest.fixture
def new_context(browser: Any, live_server: str, blocked_requests: list[str],
                request: pytest.FixtureRequest) -> Iterator[Callable[..., Any]]:
    """``new_context(mobile=False, **options)``: a fresh, guarded browser context (its own
    cookies) whose ``base_url`` is the live server, so ``page.goto("/auth/login")`` works."""
    contexts: list[Any] = []
    logs: dict[Any, list[str]] = {}
    guard = RequestGuard(live_server, blocked_requests)

    def track(page: Any) -> None:
        log = logs.setdefault(page, [])
        page.on("console", lambda message: log.append(f"console.{message.type}: {message.text}"))
        page.on("pageerror", lambda error: log.append(f"pageerror: {error}"))

    def factory(*, mobile: bool = False, **options: Any) -> Any:
        settings = {**(MOBILE if mobile else DESKTOP), "base_url": live_server,
                    "locale": "en-GB", "timezone_id": "Europe/London",
                    "service_workers": "block", **options}
        context = browser.new_context(**settings)
        context.set_default_timeout(DEFAULT_TIMEOUT_MS)
        context.set_default_navigation_timeout(NAVIGATION_TIMEOUT_MS)
        context.route("**/*", guard)
        context.on("page", track)
        contexts.append(context)
        return context

    yield factory
    if _failed(request.node):
        directory = request.config.rootpath / "test-artifacts"
        stem = _artifact_stem(request.node)
        pages = [page for context in contexts for page in context.pages]
        for number, page in enumerate(pages):
            suffix = f"-{number + 1}" if len(pages) > 1 else ""
            _save_artifacts(directory, stem + suffix, page, logs.get(page, []))
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_context: Callable[..., Any]) -> Any:
    """A desktop-sized (1280x900) page in a fresh context."""
    return new_context().new_page()


@pytest.fixture
def mobile_page(new_context: Callable[..., Any]) -> Any:
    """A phone-sized (360x740) touch page in a fresh context."""
    return new_context(mobile=True).new_page()
