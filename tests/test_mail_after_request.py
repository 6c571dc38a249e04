"""Mail a request queued is handed to delivery every time, whatever the client does afterwards.

``make demo`` serves with Werkzeug's development server, which closes a response (running its
``call_on_close`` work: mail delivery) only after draining the socket, and skips ``close()`` when
that read fails: Chromium resets the connection of a redirect whose body it did not read, so
about one "added and emailed" colleague in six stayed pending until a ``deliver-mail`` run. The
clients here do that on purpose: each sends a stray byte after its request (so the server's
drain blocks reading) and resets the connection once the response has come.
"""

from __future__ import annotations

import socket
import struct
import threading
import urllib.parse
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from helpers import csrf_token, free_port, launch, ready_cycle

from feedback360.extensions import db
from feedback360.models import OutboxMessage

TRAINEES = 3
ADDED_EACH = 4


@pytest.fixture
def dev_server(app) -> Iterator[int]:
    """``app`` served as ``flask run`` serves it (threaded, nothing in between); its port."""
    from werkzeug.serving import make_server

    port = free_port()
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    yield port
    server.shutdown()
    thread.join(timeout=10)


def post_then_reset(port: int, path: str, cookie: str, fields: dict[str, str]) -> bytes:
    """POST ``fields``, read the status line and headers, then reset the connection (RST)."""
    body = urllib.parse.urlencode(fields).encode()
    head = (f"POST {path} HTTP/1.1\r\nHost: localhost\r\nCookie: {cookie}\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head + body + b"\n")  # one byte past the body: the server drains it
        received = b""
        while b"\r\n\r\n" not in received:
            chunk = sock.recv(65536)
            assert chunk, "the server closed the connection before answering"
            received += chunk
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    return received.split(b"\r\n", 1)[0]


def test_colleagues_added_to_open_cycles_concurrently_are_all_emailed(
        app, smtp, make_user, login, dev_server):
    signed_in = []
    for _ in range(TRAINEES):
        client = app.test_client()
        login(client, make_user())
        cycle_id = ready_cycle(client)
        assert launch(client, cycle_id).status_code == 302
        signed_in.append((client, cycle_id))
    smtp.clear()
    cookie_name = app.config["SESSION_COOKIE_NAME"]
    start = threading.Barrier(TRAINEES)

    def add_colleagues(index: int) -> list[bytes]:
        client, cycle_id = signed_in[index]
        cookie = f"{cookie_name}={client.get_cookie(cookie_name).value}"
        start.wait(timeout=10)
        statuses = []
        for n in range(ADDED_EACH):
            page = client.get(f"/cycles/{cycle_id}")
            statuses.append(post_then_reset(
                dev_server, f"/cycles/{cycle_id}/nominees", cookie,
                {"name": f"Late Colleague {n}", "email": f"late{index}.{n}@nhs.net",
                 "group": "peer", "csrf_token": csrf_token(page)}))
        return statuses

    with ThreadPoolExecutor(TRAINEES) as pool:
        statuses = [s for each in pool.map(add_colleagues, range(TRAINEES)) for s in each]
    assert statuses == [b"HTTP/1.1 302 FOUND"] * (TRAINEES * ADDED_EACH)

    expected = sorted(f"late{i}.{n}@nhs.net" for i in range(TRAINEES) for n in range(ADDED_EACH))
    # Delivery runs in the server's threads once each response has gone: wait for it (bounded).
    try:
        smtp.wait_for(len(expected), timeout=15)
    finally:
        with app.app_context():
            untried = db.session.scalars(db.select(OutboxMessage.to_address).where(
                OutboxMessage.status == "pending", OutboxMessage.attempts == 0)).all()
        assert untried == [], f"{len(untried)} of {len(expected)} never handed to delivery"
    assert sorted(m["To"] for m in smtp.messages) == expected
