"""Revision 0006 gives every existing invitation its canonical address without failing on the
duplicates an older list could hold (``name+tag@`` beside ``name@``)."""

from __future__ import annotations

from flask_migrate import upgrade
from sqlalchemy import text

from feedback360.extensions import db

pytest_plugins = ["test_migrations"]  # its empty_database_url and migrations_app fixtures

ROWS = [  # (typed address as stored before 0006, identity expected)
    ("sam.patel+360@nhs.net", "sam.patel+360@nhs.net"),  # the same person as the next row
    ("sam.patel@nhs.net", "sam.patel@nhs.net"),
    ("sam.patel+again@nhs.net", "sam.patel+again@nhs.net"),
    ("ann.other+x@nhs.net", "ann.other@nhs.net"),
    ("b.o.b@googlemail.com", "bob@gmail.com"),
]


def test_existing_invitations_get_their_identity_and_duplicates_survive(migrations_app):
    with migrations_app.app_context():
        upgrade(revision="0004")
        with db.engine.begin() as connection:
            connection.execute(text(
                "INSERT INTO users (id, email, name, role, active, session_nonce, created_at) "
                "VALUES (1, 't@nhs.net', 'T', 'trainee', true, 'n', CURRENT_TIMESTAMP)"))
            connection.execute(text(
                "INSERT INTO instrument_versions (id, key, version, sha256, title, definition, "
                "created_at) VALUES (1, 'clcf', 1, :sha, 'CLCF', '{}', CURRENT_TIMESTAMP)"),
                {"sha": "0" * 64})
            connection.execute(text(
                "INSERT INTO feedback_cycles (id, trainee_id, instrument_version_id, title, "
                "status, closes_on, created_at) VALUES (1, 1, 1, 'C', 'draft', '2030-01-01', "
                "CURRENT_TIMESTAMP)"))
            for number, (email, _) in enumerate(ROWS, start=1):
                connection.execute(text(
                    "INSERT INTO invitations (id, cycle_id, rater_email, rater_name, "
                    "rater_group, status, token_nonce, sent_count, reminded_count) "
                    "VALUES (:id, 1, :email, 'R', 'peer', 'pending', 'n', 0, 0)"),
                    {"id": number, "email": email})
        upgrade()
        with db.engine.connect() as connection:
            stored = dict(connection.execute(text(
                "SELECT rater_email, rater_identity FROM invitations")).all())
    assert stored == dict(ROWS)
