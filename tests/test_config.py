"""Settings from the environment: the database pool's ping before use."""

from __future__ import annotations

import pytest

from feedback360.config import from_environment
from feedback360.extensions import db


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
