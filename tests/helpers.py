"""Plain helper functions for tests (no fixtures): ``from helpers import csrf_token``.

``tests/`` is on ``sys.path`` while pytest runs (its conftest lives there), so any test module,
including those under ``tests/e2e``, can import this module as ``helpers``.
"""

from __future__ import annotations

import contextlib
import html
import os
import re
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from email.message import EmailMessage, Message
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

_LINK = re.compile(r"""https?://[^\s<>"')\]]+""")

# The password every test user gets (conftest's make_user); a module of its own to import from,
# since "conftest" is ambiguous with tests/e2e/conftest.py on sys.path.
DEFAULT_PASSWORD = "correct horse battery"
# The TOTP key conftest's make_user enrols every admin with (their role needs a second factor).
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def totp_code(secret: str = TOTP_SECRET, *, steps_ahead: int = 0) -> str:
    """The code an authenticator app with ``secret`` shows now (or ``steps_ahead`` steps on)."""
    import time

    import pyotp

    return pyotp.TOTP(secret).at(int(time.time()) + 30 * steps_ahead)


# The time step of each email's last code entered in a browser in this test (e2e conftest clears
# it per test): a test signing one admin in twice within 30 seconds takes the next step's code,
# where a person would wait for it.
_BROWSER_STEPS: dict[str, int] = {}


def enter_code_if_asked(page: Any, email: str, secret: str = TOTP_SECRET) -> None:
    """After a correct password in the browser: enter the TOTP code when the page asks for it."""
    import time

    import pyotp

    page.wait_for_url(lambda url: "/auth/login" not in url)
    if not page.url.split("?")[0].endswith("/auth/two-factor"):
        return
    now = int(time.time()) // 30
    # Never the previous step's code: the clock may pass into the next step before it arrives.
    step = _BROWSER_STEPS[email] = max(now, _BROWSER_STEPS.get(email, now - 1) + 1)
    page.get_by_label("Code", exact=True).fill(pyotp.TOTP(secret).at(step * 30))
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(lambda url: "/auth/" not in url)


def forget_browser_codes() -> None:
    _BROWSER_STEPS.clear()


def enrol_second_factor(app, user_id: int, secret: str = TOTP_SECRET) -> None:
    """Give the user a confirmed TOTP key (admins need one to sign in; ``login`` uses it)."""
    from feedback360 import two_factor_keys
    from feedback360.extensions import db
    from feedback360.models import TwoFactorKey, utcnow

    with app.app_context():
        db.session.add(TwoFactorKey(user_id=user_id, confirmed_at=utcnow(),
                                    sealed_secret=two_factor_keys.seal(secret, user_id)))
        db.session.commit()


def unused_code(app, email: str) -> str:
    """A code the user's app would show within the accepted window and not yet used.

    Tests sign one admin in many times within 30 seconds, where a person would wait for the next
    code; when the window's codes are used up, the record of the last one is cleared directly."""
    import time

    import pyotp

    from feedback360 import two_factor_keys
    from feedback360.extensions import db
    from feedback360.models import TwoFactorKey, User

    with app.app_context():
        user = db.session.scalar(db.select(User).where(User.email == email.strip().lower()))
        key = db.session.get(TwoFactorKey, user.id)
        now = int(time.time()) // 30
        # Never the previous step's code: the clock may pass into the next step before it arrives.
        step = max(now, (key.last_step if key.last_step is not None else now - 1) + 1)
        if step > now + 1:
            key.last_step, step = None, now
            db.session.commit()
        return pyotp.TOTP(two_factor_keys.unseal(key.sealed_secret, user.id)).at(step * 30)


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing is listening on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def html_of(response_or_html: Any) -> str:
    """The HTML of a Flask/Werkzeug test response, a ``str`` or ``bytes``."""
    if isinstance(response_or_html, str):
        return response_or_html
    if isinstance(response_or_html, bytes | bytearray):
        return bytes(response_or_html).decode("utf-8")
    get_data = getattr(response_or_html, "get_data", None)
    if callable(get_data):
        return get_data(as_text=True)
    raise TypeError(f"expected a response, str or bytes, not {type(response_or_html).__name__}")


class _FormScanner(HTMLParser):
    """Collects ``<input>``/``<meta>`` attributes and each form's fields."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.inputs: list[dict[str, str]] = []
        self.metas: list[dict[str, str]] = []
        self.forms: list[dict[str, Any]] = []
        self._form: dict[str, Any] | None = None
        self._textarea: str | None = None
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        if tag == "form":
            self._form = {"attrs": attributes, "fields": {}}
            self.forms.append(self._form)
        elif tag == "input":
            self.inputs.append(attributes)
            if self._form is not None and attributes.get("name"):
                kind = attributes.get("type", "text").lower()
                if kind in {"checkbox", "radio"} and "checked" not in attributes:
                    return
                if kind in {"submit", "button", "image", "reset", "file"}:
                    return
                self._form["fields"].setdefault(attributes["name"], attributes.get("value", ""))
        elif tag == "meta":
            self.metas.append(attributes)
        elif tag == "textarea" and self._form is not None and attributes.get("name"):
            self._textarea = attributes["name"]
            self._form["fields"][self._textarea] = ""
        elif tag == "select" and self._form is not None and attributes.get("name"):
            self._select = attributes["name"]
        elif tag == "option" and self._form is not None and self._select and (
                "selected" in attributes or self._select not in self._form["fields"]):
            self._form["fields"][self._select] = attributes.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "textarea":
            self._textarea = None
        elif tag == "select":
            self._select = None

    def handle_data(self, data: str) -> None:
        if self._textarea and self._form is not None:
            self._form["fields"][self._textarea] += data


def _scan(response_or_html: Any) -> _FormScanner:
    scanner = _FormScanner()
    scanner.feed(html_of(response_or_html))
    scanner.close()
    return scanner


def csrf_token(response_or_html: Any) -> str:
    """The CSRF token in a page: a ``csrf_token`` hidden input, else a ``csrf-token`` meta tag."""
    scanner = _scan(response_or_html)
    for attributes in scanner.inputs:
        if attributes.get("name") == "csrf_token" and attributes.get("value"):
            return attributes["value"]
    for attributes in scanner.metas:
        if attributes.get("name") in {"csrf-token", "csrf_token"} and attributes.get("content"):
            return attributes["content"]
    html = html_of(response_or_html)
    raise AssertionError("no csrf_token input or csrf-token meta tag in the page:\n"
                         + html[:2000])


def form_fields(response_or_html: Any, action: str | None = None, index: int = 0) -> dict[str, str]:
    """The fields a browser would submit for a form (checked boxes, selected options, hidden
    inputs, textareas), as a dict to update and post. Picks the form whose ``action`` contains
    ``action`` if given, else the ``index``-th form in the page."""
    forms = _scan(response_or_html).forms
    if action is not None:
        forms = [form for form in forms if action in form["attrs"].get("action", "")]
        index = 0
    if len(forms) <= index:
        raise AssertionError(f"form {action or index!r} not found in the page")
    return dict(forms[index]["fields"])


def extract_links(text: str) -> list[str]:
    """The http(s) links in a piece of text, in order, without trailing punctuation."""
    return [link.rstrip(".,;:!?") for link in _LINK.findall(text)]


def message_text(message: Message) -> str:
    """The plain-text body of an email (the first ``text/plain`` part)."""
    if isinstance(message, EmailMessage):
        body = message.get_body(preferencelist=("plain",))
        if body is not None:
            return body.get_content()
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            payload = part.get_payload(decode=True)
            charset = part.get_content_charset() or "utf-8"
            return payload.decode(charset) if isinstance(payload, bytes) else str(payload)
    raise AssertionError(f"message {message['Subject']!r} has no text/plain part")


def message_html(message: EmailMessage) -> str | None:
    """The HTML body of an email, if it has one."""
    body = message.get_body(preferencelist=("html",))
    return body.get_content() if body is not None else None


def message_links(message: Message) -> list[str]:
    """The http(s) links in an email's plain-text body."""
    return extract_links(message_text(message))


def path_of(url: str) -> str:
    """``/path?query`` of an absolute URL, for passing a mailed link to the test client."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def post(client: Any, page: str, action: str | None = None, data: dict | None = None) -> Any:
    """GET ``page`` for its CSRF token, then POST ``data`` to ``action`` (default: the page)."""
    token = csrf_token(client.get(page))
    return client.post(action or page, data={**(data or {}), "csrf_token": token})


def text_of(response_or_html: Any) -> str:
    """The page as a reader hears it: tags dropped, entities decoded, spaces collapsed."""
    markup = getattr(response_or_html, "text", response_or_html)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", markup)).split())


# --- A trainee's steps through the pages (signed-in client) ----------------------------------

def start_cycle(client: Any, **changes: str) -> Any:
    """Submit the new-cycle form as the page fills it in, with ``changes``."""
    page = client.get("/cycles/new")
    return client.post("/cycles/new",
                       data={**form_fields(page, action="/cycles/new"), **changes})


def new_cycle(client: Any, **changes: str) -> int:
    response = start_cycle(client, **changes)
    assert response.status_code == 302, text_of(response)
    return int(re.search(r"/cycles/(\d+)$", response.location).group(1))


def nominate(client: Any, cycle_id: int, name: str, email: str, group: str) -> Any:
    return post(client, f"/cycles/{cycle_id}", f"/cycles/{cycle_id}/nominees",
                {"name": name, "email": email, "group": group})


def paste(client: Any, cycle_id: int, lines: list[str]) -> Any:
    return post(client, f"/cycles/{cycle_id}", f"/cycles/{cycle_id}/nominees/bulk",
                {"colleagues": "\n".join(lines)})


def colleagues(count: int, group: str, start: int = 1) -> list[str]:
    return [f"{group.title()} Colleague {n}, {group}{n}@nhs.net, {group}"
            for n in range(start, start + count)]


# Exactly the clcf rule: ten colleagues, two of them senior (one the identifiable supervisor).
ENOUGH = [*colleagues(1, "supervisor"), *colleagues(1, "senior"), *colleagues(8, "peer")]


def ready_cycle(client: Any) -> int:
    cycle_id = new_cycle(client)
    assert paste(client, cycle_id, ENOUGH).status_code == 302
    return cycle_id


def launch(client: Any, cycle_id: int) -> Any:
    return post(client, f"/cycles/{cycle_id}", f"/cycles/{cycle_id}/launch")


def add_sealed_response(cycle_id: int, group: str, answers: dict[str, int | None],
                        comments: dict[str, str] | None = None) -> None:
    """A rater's answers as the survey keeps them while the cycle is open: one sealed row
    (in an app context; the caller commits). Closing the cycle writes it out as a Response."""
    from feedback360 import sealing
    from feedback360.extensions import db
    from feedback360.models import SealedResponse
    from feedback360.services.surveys import Draft, sealed_payload

    payload = sealed_payload(Draft(answers, comments or {}), group)
    db.session.add(SealedResponse(cycle_id=cycle_id, sealed=sealing.seal(
        payload, purpose=sealing.SUBMITTED, owner=cycle_id)))


def sealed_answers(cycle_id: int | None = None) -> list[dict[str, Any]]:
    """What raters have submitted to open cycles (all, or ``cycle_id``'s), opened as the app
    opens it: ``{"g": group, "answers": {item: score or "na"}, "comments": {prompt: text}}``."""
    from feedback360 import sealing
    from feedback360.extensions import db
    from feedback360.models import SealedResponse

    query = db.select(SealedResponse.cycle_id, SealedResponse.sealed)
    if cycle_id is not None:
        query = query.where(SealedResponse.cycle_id == cycle_id)
    return [sealing.unseal(blob, purpose=sealing.SUBMITTED, owner=owner)
            for owner, blob in db.session.execute(query)]


def draft_of(email: str) -> dict[str, Any] | None:
    """The rater's saved draft, opened as the app opens it (in an app context)."""
    from feedback360.extensions import db
    from feedback360.models import Invitation
    from feedback360.services.surveys import draft_of as open_draft

    invitation = db.session.scalar(db.select(Invitation).filter_by(rater_email=email))
    return None if invitation.draft is None else open_draft(invitation).dump()


def post_form(client: Any, path: str, data: dict[str, str], **kwargs: Any) -> Any:
    """GET the form at ``path`` for its CSRF token, then POST ``data`` like a browser would."""
    page = client.get(path)
    return client.post(path, data={**data, "csrf_token": csrf_token(page)}, **kwargs)


class DrainedProcess:
    """A child process whose stdout and stderr are read as they come, by a thread each, so a
    chatty server never blocks on a full pipe (64 KB on Linux) while the test talks to it.
    ``communicate()`` waits for it to exit and returns everything it wrote, as Popen's does."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self.pid = process.pid
        self.output: dict[str, list[str]] = {"stdout": [], "stderr": []}
        self._seen = threading.Condition()
        self._threads = [threading.Thread(target=self._drain, args=(name, stream), daemon=True)
                         for name, stream in (("stdout", process.stdout),
                                              ("stderr", process.stderr))]
        for thread in self._threads:
            thread.start()

    def _drain(self, name: str, stream: Any) -> None:
        for line in stream:
            with self._seen:
                self.output[name].append(line)
                self._seen.notify_all()
        stream.close()
        with self._seen:
            self._seen.notify_all()

    def wait_for(self, text: str, timeout: float) -> bool:
        """Whether ``text`` appeared on stderr within ``timeout`` seconds (False if it exited)."""
        def found() -> bool:
            return (any(text in line for line in self.output["stderr"])
                    or self.process.poll() is not None)

        with self._seen:
            self._seen.wait_for(found, timeout=timeout)
        return any(text in line for line in self.output["stderr"])

    @property
    def returncode(self) -> int | None:
        return self.process.poll()

    def send_signal(self, signum: int) -> None:
        self.process.send_signal(signum)

    def wait(self, timeout: float | None = None) -> int:
        return self.process.wait(timeout=timeout)

    def communicate(self, timeout: float | None = None) -> tuple[str, str]:
        self.process.wait(timeout=timeout)
        for thread in self._threads:
            thread.join(timeout=timeout)
        return "".join(self.output["stdout"]), "".join(self.output["stderr"])


@contextlib.contextmanager
def gunicorn_server(env: dict[str, str], *, workers: int, cwd: Path
                    ) -> Iterator[tuple[str, DrainedProcess]]:
    """gunicorn serving ``wsgi:app`` from ``cwd`` as the README runs it, on a free 127.0.0.1 port:
    yields its base URL and process once the master listens; stopped gracefully (SIGTERM, so
    workers log what they served) on the way out. Read the logs with ``communicate()`` after."""
    import pytest

    port = free_port()
    env = {**os.environ, **env}
    env.pop("GUNICORN_CMD_ARGS", None)
    server = DrainedProcess(subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-w", str(workers), "-b", f"127.0.0.1:{port}",
         "wsgi:app"], cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True))
    try:
        # The master has bound the port once it says so; requests then wait for a worker.
        if not server.wait_for("Listening at", timeout=60):  # pragma: no cover - it exited
            pytest.fail("gunicorn did not start")
        yield f"http://127.0.0.1:{port}", server
    finally:
        if server.returncode is None:
            server.send_signal(signal.SIGTERM)


def audit_events(app: Any, action: str) -> list[tuple[int | None, str | None, Any]]:
    """``(actor_id, target, detail)`` of every audit event with this action, oldest first."""
    from feedback360.extensions import db
    from feedback360.models import AuditEvent

    with app.app_context():
        return [(event.actor_id, event.target, event.detail) for event in db.session.scalars(
            db.select(AuditEvent).filter_by(action=action).order_by(AuditEvent.id))]


def load_script(name: str) -> Any:
    """``scripts/<name>.py`` imported as module ``name`` (the scripts are not a package; one may
    import another by that name, as when run from the command line)."""
    import importlib.util

    if name in sys.modules:
        return sys.modules[name]
    path = Path(__file__).resolve().parent.parent / "scripts" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # before running it: dataclasses look their module up
    spec.loader.exec_module(module)
    return module


# Routes anyone may use (sign-in, the rater's tokenised survey, static files, the privacy
# notice, accessibility statement and contact page).
PUBLIC_PREFIXES = ("/auth/", "/s/", "/survey", "/static/", "/assets/", "/privacy",
                   "/accessibility", "/contact", "/o/", "/observer", "/verify")


def add_rater_responses(cycle: Any, groups: Sequence[str], comments: Sequence[str]) -> None:
    """One response per group in ``groups``, written straight to the responses table, each
    scoring every statement 1-5 in a pattern of its own and leaving ``comments[n]`` as its
    strengths comment; flushed with the session, not committed."""
    from feedback360.extensions import db
    from feedback360.models import Answer, Comment, Response
    from feedback360.services import cycles

    items = cycles.instrument_for(cycle).item_keys
    for number, group in enumerate(groups):
        response = Response(cycle_id=cycle.id, rater_group=group)
        response.answers = [Answer(item_key=key, score=1 + (number + i) % 5)
                            for i, key in enumerate(items)]
        response.comments = [Comment(prompt_key="strengths", text=comments[number])]
        db.session.add(response)


def add_placement(trainee_id: int, started_on: Any, ended_on: Any = None, *,
                  site: str = "City Hospital", organisation: str = "Example Trust",
                  department: str = "Clinical Biochemistry") -> Any:
    """A placement for the trainee at ``site`` of ``organisation`` (both made when missing);
    inside an app context, flushed."""
    from feedback360.extensions import db
    from feedback360.models import Organisation, Placement, Site

    org = db.session.scalar(db.select(Organisation).filter_by(name=organisation))
    if org is None:
        org = Organisation(name=organisation)
        db.session.add(org)
        db.session.flush()
    found = db.session.scalar(db.select(Site).filter_by(organisation_id=org.id, name=site))
    if found is None:
        found = Site(organisation_id=org.id, name=site)
        db.session.add(found)
        db.session.flush()
    placement = Placement(trainee_id=trainee_id, site_id=found.id, department=department,
                          started_on=started_on, ended_on=ended_on)
    db.session.add(placement)
    db.session.flush()
    return placement


def add_activity(trainee_id: int, title: str = "Chaired the departmental audit meeting",
                 element_keys: Sequence[str] = ("self-awareness", "teams"), **fields: Any) -> Any:
    """A leadership activity ("doing", a meeting) of the trainee, with CLCF elements; flushed
    with the session, not committed."""
    from datetime import date

    from feedback360.extensions import db
    from feedback360.models import Activity, ActivityElement
    from feedback360.services import clcf_framework

    elements = clcf_framework.elements_by_key()
    values = {"kind": "doing", "category": "meeting", "started_on": date(2026, 3, 2),
              "description": "I chaired the monthly audit meeting and agreed three actions.",
              **fields}
    activity = Activity(trainee_id=trainee_id, title=title, **values)
    activity.elements = [ActivityElement(element_key=key, domain_key=elements[key].domain_key)
                         for key in element_keys]
    db.session.add(activity)
    db.session.flush()
    return activity


def add_activity_with_feedback(trainee_id: int, title: str, *, observer: str = "Olu Observer",
                               overall: str = "Chaired calmly and kept to time.",
                               element_text: str = "Listened to every member of the panel.",
                               started_on: Any = None, status: str = "given") -> Any:
    """A "doing" activity of the trainee with one written feedback request in ``status``
    (given: with an overall comment and an answer for its one element), written straight to
    the tables; flushed with the session, not committed. Returns the activity."""
    from datetime import UTC, date, datetime

    from feedback360.extensions import db
    from feedback360.models import Activity, ActivityElement, ActivityFeedbackRequest

    element = ("relationships", "working-with-others")
    activity = Activity(trainee_id=trainee_id, kind="doing", category="chairing", title=title,
                        description=f"What I did: {title}",
                        started_on=started_on or date(2026, 3, 2), hours=3,
                        went_well="Kept to time", do_differently="Circulate papers sooner")
    activity.elements = [ActivityElement(element_key=element[0], domain_key=element[1])]
    given = status == "given"
    activity.feedback_requests = [ActivityFeedbackRequest(
        observer_name=observer, observer_email=f"{observer.split()[0].lower()}@nhs.net",
        observer_role="Consultant clinical scientist", element_keys=[element[0]],
        token_nonce="n" * 32, status=status,
        answers={element[0]: element_text} if given else {}, overall=overall if given else "",
        given_at=datetime(2026, 3, 9, 12, tzinfo=UTC) if given else None)]
    db.session.add(activity)
    db.session.flush()
    return activity


def texts_in_database(app: Any) -> list[tuple[str, int | None, str]]:
    """Every text, JSON and binary value of every table, lower-cased, with the audit event id it
    is in (None outside ``audit_events``): to show an erased name or address is gone."""
    from feedback360.extensions import db

    found = []
    with app.app_context():
        for table in db.metadata.sorted_tables:
            for row in db.session.execute(db.select(table)).mappings():
                for name, value in row.items():
                    if isinstance(value, bytes):
                        value = value.decode("latin-1")
                    elif value is not None and not isinstance(value, str):
                        value = repr(value)
                    if value:
                        event = row["id"] if table.name == "audit_events" else None
                        found.append((f"{table.name}.{name}", event, value.lower()))
    return found
