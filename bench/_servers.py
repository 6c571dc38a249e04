"""The servers a load benchmark starts: ``gunicorn -w N`` instances and a ``redis-server``.

Both on free loopback ports, both always stopped (killed if need be), both dying with the
script even if it is killed. Standard library only.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

from _common import ROOT, app_environment, venv_bin

HOST = "127.0.0.1"
START_TIMEOUT = 60
STOP_TIMEOUT = 20


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def raise_open_file_limit() -> int:
    """Lift this process's soft limit on open files to the hard one: each simulated rater holds
    a connection per app server, and 200 raters on two servers pass the usual 1,024 with the
    load generator's own files. Returns the limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM it if this script dies, even by SIGKILL (Linux)."""
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class Server:
    """``gunicorn -w N`` on a free loopback port; always stopped, killed if need be."""

    def __init__(self, database_url: str, workers: int, workdir: Path,
                 extra_args: list[str] | None = None, extra_env: dict[str, str] | None = None,
                 name: str = "gunicorn"):
        self.port = free_port()
        self.logfile = workdir / f"{name}.log"
        self.argv = [venv_bin("gunicorn"), "--workers", str(workers), "--worker-class", "sync",
                     "--bind", f"{HOST}:{self.port}", "--timeout", "60",
                     "--graceful-timeout", "10", "--log-level", "warning",
                     "--error-logfile", str(self.logfile), *(extra_args or []), "wsgi:app"]
        self.env = {**app_environment(database_url), **(extra_env or {})}
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        # The app logs to stderr (gunicorn's own messages go to --error-logfile): keep both.
        with self.logfile.open("ab") as output:
            self.process = subprocess.Popen(self.argv, cwd=ROOT, env=self.env,
                                            stdin=subprocess.DEVNULL, stdout=output,
                                            stderr=output, start_new_session=True,
                                            preexec_fn=_die_with_parent)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited ({self.process.returncode}):\n"
                                   f"{self.log_tail()}")
            try:
                conn = http.client.HTTPConnection(HOST, self.port, timeout=5)
                conn.request("GET", "/survey")
                conn.getresponse().read()
                conn.close()
                return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not answer within {START_TIMEOUT} s:\n{self.log_tail()}")

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def stop(self) -> None:
        """SIGTERM (graceful), then SIGKILL to the process group gunicorn leads."""
        if self.process is None or self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        # Workers are in gunicorn's own process group: make sure none outlives the master.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.logfile.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no gunicorn log)"


@contextlib.contextmanager
def redis_server(workdir: Path) -> Iterator[str]:
    """A throwaway ``redis-server`` (no persistence) in ``workdir``: yields its ``redis://`` URI,
    the ``RATELIMIT_STORAGE_URI`` every app server shares."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is not installed (Debian package redis-server; "
                           "`make system-deps` lists it)")
    port = free_port()
    with (workdir / "redis.log").open("ab") as output:
        process = subprocess.Popen(
            [binary, "--port", str(port), "--bind", HOST, "--dir", str(workdir), "--save", "",
             "--appendonly", "no", "--daemonize", "no", "--loglevel", "warning"],
            stdin=subprocess.DEVNULL, stdout=output, stderr=output, start_new_session=True,
            preexec_fn=_die_with_parent)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"redis-server exited ({process.returncode})")
            with contextlib.suppress(OSError), socket.create_connection((HOST, port), 1) as s:
                s.sendall(b"PING\r\n")
                if s.recv(16).startswith(b"+PONG"):
                    break
            if time.monotonic() > deadline:
                raise RuntimeError("redis-server did not answer PING")
            time.sleep(0.1)
        yield f"redis://{HOST}:{port}/0"
    finally:
        process.terminate()
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


ACCOUNT_LIMIT = 3  # LOGIN_ACCOUNT_LIMIT while the servers are shared: "3 per 15 minutes"
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def sign_in_statuses(ports: list[int], email: str) -> list[int]:
    """``ACCOUNT_LIMIT`` + 1 wrong passwords for one email, each sign-in form fetched from one
    server and posted to the other, the posts going to each server in turn: with the count
    shared through Redis the last is refused (429) exactly as on one server; counted in each
    server's memory it would not be."""
    statuses = []
    for n in range(ACCOUNT_LIMIT + 1):
        cookies: dict[str, str] = {}
        _, page = _sign_in_page(ports[0], ports[n % len(ports)], cookies)
        match = CSRF_RE.search(page)
        status, _ = _sign_in_page(ports[0], ports[(n + 1) % len(ports)], cookies, {
            "email": email, "password": "not the password",
            "csrf_token": match.group(1) if match else ""})
        statuses.append(status)
    return statuses


def _sign_in_page(origin_port: int, port: int, cookies: dict[str, str],
                  fields: dict[str, str] | None = None) -> tuple[int, str]:
    """GET (or POST ``fields`` to) ``/auth/login`` on ``port``, as if through the proxy at
    ``origin_port``; ``cookies`` is the browser's jar, updated."""
    origin = f"http://{HOST}:{origin_port}"
    headers = {"Host": f"{HOST}:{origin_port}", "Accept": "text/html",
               "Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())}
    if fields is not None:
        headers |= {"Content-Type": "application/x-www-form-urlencoded", "Origin": origin,
                    "Referer": f"{origin}/auth/login"}
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    try:
        conn.request("GET" if fields is None else "POST", "/auth/login",
                     body=None if fields is None else urlencode(fields).encode(),
                     headers=headers)
        response = conn.getresponse()
        page = response.read().decode("utf-8", "replace")
    finally:
        conn.close()
    for header in response.headers.get_all("Set-Cookie") or []:
        name, _, value = header.partition(";")[0].strip().partition("=")
        cookies[name] = value
    return response.status, page
