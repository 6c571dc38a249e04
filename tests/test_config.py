"""Settings from the environment: the database pool's ping before use, the blind-spot
threshold, the links' base address, and the README's table of them all."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from feedback360 import config
from feedback360.config import ConfigurationError, from_environment, load
from feedback360.extensions import db
from feedback360.scoring import score_cycle
from feedback360.services import cohort_analyses
from feedback360.services.cycles import available_instruments
from feedback360.services.summaries import rules_from_config

ROOT = Path(__file__).resolve().parent.parent


def available_instruments_of(app):  # type: ignore[no-untyped-def]
    with app.app_context():
        return available_instruments()


@pytest.mark.parametrize(("value", "expected"), [(None, None), ("true", True), ("false", False),
                                                 ("1", True), ("0", False)])
def test_the_pool_pings_connections_only_when_asked(monkeypatch, value, expected):
    monkeypatch.delenv("DATABASE_POOL_PRE_PING", raising=False)
    if value is not None:
        monkeypatch.setenv("DATABASE_POOL_PRE_PING", value)
    options = from_environment().get("SQLALCHEMY_ENGINE_OPTIONS")
    assert (options or {}).get("pool_pre_ping") == expected


def test_by_default_the_app_does_not_ping(make_app, monkeypatch):
    monkeypatch.delenv("DATABASE_POOL_PRE_PING", raising=False)
    app = make_app()
    with app.app_context():
        assert db.engine.pool._pre_ping is False


class _Recording(dict):
    """os.environ as from_environment reads it, noting every name it asks for."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: set[str] = set()

    def get(self, name, default=None):  # type: ignore[no-untyped-def]
        self.asked.add(name)
        return super().get(name, default)

    def __getitem__(self, name):  # type: ignore[no-untyped-def]
        self.asked.add(name)
        return super().__getitem__(name)


def test_every_setting_read_from_the_environment_is_in_the_readme(monkeypatch):
    environ = _Recording()
    monkeypatch.setattr(config.os, "environ", environ)
    from_environment()
    table = (ROOT / "README.md").read_text().split("## Configuration", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"^\| `([A-Z0-9_]+)`(?: / `([A-Z0-9_]+)`)?", table, re.M))
    documented = {name for pair in documented for name in pair if name}
    assert "BLIND_SPOT_THRESHOLD" in environ.asked
    assert environ.asked - documented == set()


@pytest.mark.parametrize(("value", "expected"), [(None, 1.0), ("0.5", 0.5), (" 1.25 ", 1.25)])
def test_the_blind_spot_threshold_comes_from_the_environment(make_app, monkeypatch, value,
                                                             expected):
    monkeypatch.delenv("BLIND_SPOT_THRESHOLD", raising=False)
    if value is not None:
        monkeypatch.setenv("BLIND_SPOT_THRESHOLD", value)
    app = make_app()
    assert app.config["BLIND_SPOT_THRESHOLD"] == expected
    with app.app_context():
        # what a cycle's summary and a cohort's analysis are built with
        assert rules_from_config().blind_spot_threshold == expected
        assert cohort_analyses.settings().threshold == expected


def test_the_scoring_uses_the_configured_threshold(make_app, monkeypatch):
    """One response per side, self 1.5 points above the colleagues on every statement: a blind
    spot at a threshold of 1.25, none at 2."""
    instrument = available_instruments_of(make_app())["clcf"]
    rows = [("self", "self", True, item, 5) for item in instrument.item_keys]
    rows += [(f"r{n}", "peer", False, item, 3 + n % 2) for n in range(6)  # 3.5 on average
             for item in instrument.item_keys]
    frame = pd.DataFrame(rows, columns=["response", "group", "is_self", "item", "score"])
    found = {}
    for threshold in ("1.25", "2"):
        monkeypatch.setenv("BLIND_SPOT_THRESHOLD", threshold)
        with make_app().app_context():
            found[threshold] = len(score_cycle(frame, instrument, rules_from_config()).blind_spots)
    assert found["1.25"] > 0 and found["2"] == 0


@pytest.mark.parametrize(("name", "value"), [
    ("BLIND_SPOT_THRESHOLD", "0"), ("BLIND_SPOT_THRESHOLD", "-1"),
    ("BLIND_SPOT_THRESHOLD", "one"), ("BLIND_SPOT_THRESHOLD", "nan"),
    ("BLIND_SPOT_THRESHOLD", "inf"),
    ("SERVER_BASE_URL", "127.0.0.1:5101"), ("SERVER_BASE_URL", "ftp://example.nhs.uk"),
    ("SERVER_BASE_URL", "http://"), ("SERVER_BASE_URL", "http://example.nhs.uk:port"),
    ("SERVER_BASE_URL", "https://example.nhs.uk/?next=x"),
])
def test_a_bad_value_stops_the_app_starting_with_a_clear_message(monkeypatch, tmp_path, name,
                                                                  value):
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError, match=name):
        load(str(tmp_path), {"FEEDBACK360_ENV": "testing", "SECRET_KEY": "x" * 32})
