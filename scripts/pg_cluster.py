#!/usr/bin/env python3
"""A throwaway PostgreSQL cluster for tests and benchmarks (standard library only).

As a context manager::

    from pg_cluster import temporary_cluster, create_database
    with temporary_cluster() as url:        # postgresql+psycopg://postgres@127.0.0.1:PORT/postgres
        test_url = create_database(url, "feedback360_test")

As a command (what ``make test`` uses to run the suite a second time on PostgreSQL)::

    python scripts/pg_cluster.py -- .venv/bin/pytest -m "not e2e"

runs the command with ``DATABASE_URL`` (and ``PGHOST``/``PGPORT``/``PGUSER``) pointing at a fresh
cluster and exits with the command's exit status. The cluster lives in a new temporary directory,
listens only on 127.0.0.1 on a free port, trusts local connections, trades durability for speed
(``fsync``, ``full_page_writes`` and ``synchronous_commit`` off) and is stopped (immediate mode)
and deleted on exit, including after a failure, Ctrl-C or SIGTERM.

When run as root, ``initdb`` and ``pg_ctl`` run as the ``postgres`` OS user (PostgreSQL refuses to
run as root); the temporary directory is handed to that user.
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

SERVER_SETTINGS = {
    "max_connections": "200",
    "fsync": "off",
    "full_page_writes": "off",
    "synchronous_commit": "off",
    "shared_buffers": "128MB",
    "log_min_messages": "warning",
    "log_min_error_statement": "error",
    "timezone": "'UTC'",
}
START_TIMEOUT = 60
START_ATTEMPTS = 3
OS_USER = "postgres"


class ClusterError(RuntimeError):
    """The cluster could not be created or started; the message says why."""


def _version_key(path: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", path)) or (0,)


def find_bindir() -> Path:
    """Directory holding ``initdb``/``pg_ctl``: ``$PG_BINDIR``, ``pg_config --bindir``, newest of
    ``/usr/lib/postgresql/*/bin``, or ``$PATH``."""
    candidates: list[Path] = []
    if os.environ.get("PG_BINDIR"):
        candidates.append(Path(os.environ["PG_BINDIR"]))
    pg_config = shutil.which("pg_config")
    if pg_config:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run(  # noqa: S603 (pg_config found on PATH)
                [pg_config, "--bindir"], capture_output=True, text=True, check=True, timeout=10,
            ).stdout.strip()
            if out:
                candidates.append(Path(out))
    candidates += [Path(p) for p in sorted(glob.glob("/usr/lib/postgresql/*/bin"),
                                           key=_version_key, reverse=True)]
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(Path(on_path).parent)
    for directory in candidates:
        if (directory / "initdb").is_file() and (directory / "pg_ctl").is_file():
            return directory
    raise ClusterError(
        "PostgreSQL server binaries (initdb, pg_ctl) not found; looked in "
        + ", ".join(str(c) for c in candidates or [Path("/usr/lib/postgresql/*/bin")])
        + ". Install Debian's `postgresql` package (make system-deps) or set PG_BINDIR."
    )


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def _as_server_user(argv: Sequence[str]) -> list[str]:
    """PostgreSQL refuses to run as root: as root, run it as the ``postgres`` user."""
    if not _is_root():
        return list(argv)
    runuser = shutil.which("runuser") or "/usr/sbin/runuser"
    return [runuser, "-u", OS_USER, "--", *argv]


def _run(argv: Sequence[str], cwd: Path, **kwargs) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8", "TZ": "UTC"}
    for name in ("PGHOST", "PGPORT", "PGUSER", "PGDATABASE", "PGDATA", "PGPASSWORD"):
        env.pop(name, None)
    return subprocess.run(_as_server_user(argv), cwd=cwd, env=env, text=True,  # noqa: S603
                          capture_output=True, check=False, **kwargs)


def _log_tail(logfile: Path, lines: int = 30) -> str:
    try:
        return "\n".join(logfile.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no server log)"


def database_url(port: int, database: str = "postgres", host: str = "127.0.0.1",
                 user: str = "postgres", driver: str = "psycopg") -> str:
    scheme = f"postgresql+{driver}" if driver else "postgresql"
    return f"{scheme}://{quote(user)}@{host}:{port}/{quote(database)}"


@contextlib.contextmanager
def temporary_cluster(*, settings: dict[str, str] | None = None,
                      keep: bool = False) -> Iterator[str]:
    """Create, start and yield the URL of a throwaway cluster; stop and delete it on exit."""
    bindir = find_bindir()
    base = Path(tempfile.mkdtemp(prefix="feedback360-pg-"))
    data = base / "data"
    logfile = base / "server.log"
    started = False
    try:
        if _is_root():
            import pwd

            entry = pwd.getpwnam(OS_USER)  # KeyError: no postgres user -> clear failure below
            os.chown(base, entry.pw_uid, entry.pw_gid)
        base.chmod(0o700)
        result = _run([str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres",
                       "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions"], cwd=base)
        if result.returncode != 0 and "--no-instructions" in result.stderr:
            # initdb before PostgreSQL 14 lacks --no-instructions.
            result = _run([str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U",
                           "postgres", "-E", "UTF8", "--locale=C", "--no-sync"], cwd=base)
        if result.returncode != 0:
            raise ClusterError(f"initdb failed ({result.returncode}):\n{result.stdout}"
                               f"\n{result.stderr}")
        conf = {**SERVER_SETTINGS, **(settings or {})}
        with (data / "postgresql.conf").open("a") as handle:
            handle.write("\n# feedback360 throwaway test cluster\n")
            handle.writelines(f"{key} = {value}\n" for key, value in conf.items())

        port = 0
        for attempt in range(1, START_ATTEMPTS + 1):
            port = free_port()
            result = _run(
                [str(bindir / "pg_ctl"), "-D", str(data), "-l", str(logfile), "-w",
                 "-t", str(START_TIMEOUT), "-o", f"-h 127.0.0.1 -p {port} -k {base}", "start"],
                cwd=base,
                # Own session: a Ctrl-C in the terminal must not reach the postmaster
                # before we stop it ourselves.
                start_new_session=True,
            )
            if result.returncode == 0:
                started = True
                break
            log = _log_tail(logfile)
            port_taken = "could not bind" in log or "already in use" in log
            if not port_taken or attempt == START_ATTEMPTS:
                raise ClusterError(f"pg_ctl start failed ({result.returncode}):\n"
                                   f"{result.stdout}\n{result.stderr}\n--- server log ---\n{log}")
            time.sleep(0.2)  # lost the race for the port: try another one
        yield database_url(port)
    finally:
        if started or (data / "postmaster.pid").exists():
            result = _run([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w",
                           "-t", "30", "stop"], cwd=base, start_new_session=True)
            if result.returncode != 0:
                _kill_postmaster(data)
        if keep:
            print(f"pg_cluster: kept {base}", file=sys.stderr)
        else:
            shutil.rmtree(base, ignore_errors=True)


def _kill_postmaster(data: Path) -> None:
    """Last resort when ``pg_ctl stop`` failed: SIGQUIT (immediate shutdown) the postmaster."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        pid = int((data / "postmaster.pid").read_text().splitlines()[0])
        os.kill(pid, signal.SIGQUIT)
        for _ in range(100):
            os.kill(pid, 0)
            time.sleep(0.1)


# ---------------------------------------------------------------------------------------------
# Databases inside a cluster (these need psycopg, imported only when called)


def libpq_url(url: str) -> str:
    """The SQLAlchemy URL ``postgresql+psycopg://...`` as a libpq URL ``postgresql://...``."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(scheme=parts.scheme.split("+", 1)[0]))


def with_database(url: str, name: str) -> str:
    """``url`` with its database name replaced by ``name``."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + quote(name)))


def _maintenance_connection(url: str):
    import psycopg

    return psycopg.connect(libpq_url(with_database(url, "postgres")), autocommit=True,
                           connect_timeout=10)


def create_database(url: str, name: str, *, replace: bool = False) -> str:
    """``CREATE DATABASE name`` in the cluster ``url`` points at; return the URL of the new one.

    With ``replace=True`` an existing database of that name is dropped first (connections to it
    are terminated).
    """
    from psycopg import sql

    with _maintenance_connection(url) as conn:
        if replace:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0 ENCODING 'UTF8'").format(
            sql.Identifier(name)))
    return with_database(url, name)


def drop_database(url: str, name: str) -> None:
    """``DROP DATABASE IF EXISTS name WITH (FORCE)`` (connections to it are terminated)."""
    from psycopg import sql

    with _maintenance_connection(url) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
            sql.Identifier(name)))


# ---------------------------------------------------------------------------------------------
# Command line


def run_command(command: Sequence[str], *, keep: bool = False) -> int:
    """Run ``command`` with ``DATABASE_URL`` pointing at a throwaway cluster; its exit status."""
    child: subprocess.Popen[bytes] | None = None

    def terminate(signum: int, _frame: object) -> None:
        # Pass SIGTERM/SIGHUP on to the command; the cluster is cleaned up once it has exited.
        if child is not None and child.poll() is None:
            child.send_signal(signum)
        else:
            raise SystemExit(128 + signum)

    previous = {sig: signal.signal(sig, terminate) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        with temporary_cluster(keep=keep) as url:
            port = urlsplit(url).port
            print(f"pg_cluster: PostgreSQL on 127.0.0.1:{port}", file=sys.stderr, flush=True)
            env = {**os.environ, "DATABASE_URL": url, "PGHOST": "127.0.0.1",
                   "PGPORT": str(port), "PGUSER": "postgres"}
            try:
                child = subprocess.Popen(list(command), env=env)  # noqa: S603 (the user's command)
            except OSError as exc:
                print(f"pg_cluster: cannot run {command[0]!r}: {exc}", file=sys.stderr)
                return 127
            interrupts = 0
            while True:
                try:
                    status = child.wait()
                    return 128 - status if status < 0 else status  # killed by a signal
                except KeyboardInterrupt:
                    # The terminal sent SIGINT to the command too: let it finish, but a second
                    # Ctrl-C kills it, so the cluster is always cleaned up.
                    interrupts += 1
                    if interrupts > 1:
                        child.kill()
    except ClusterError as exc:
        print(f"pg_cluster: {exc}", file=sys.stderr)
        return 1
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Run a command against a throwaway PostgreSQL cluster "
                    "(DATABASE_URL is exported to it).",
        usage="%(prog)s [--keep] -- COMMAND [ARG...]",
    )
    parser.add_argument("--keep", action="store_true",
                        help="keep the cluster's directory afterwards (for debugging)")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command given (usage: pg_cluster.py -- COMMAND [ARG...])")
    return run_command(command, keep=args.keep)


if __name__ == "__main__":
    sys.exit(main())
