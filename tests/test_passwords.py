"""The password policy and hashing."""

from __future__ import annotations

import pytest

from feedback360.passwords import (
    WeakPassword,
    check_policy,
    hash_password,
    needs_rehash,
    verify_password,
)

# No app and no database: run once, not again on PostgreSQL (Makefile).
pytestmark = pytest.mark.database_independent

POLICY = {"min_length": 10, "max_length": 256}


@pytest.mark.parametrize(("password", "reason"), [
    ("short1!", "at least 10 characters"),
    ("password123", "too common"),
    ("qwertyuiop", "too common"),
    ("Liverpool1", "too common"),
    ("aaaaaaaaaaaa", "repeat"),
    ("x" * 257, "256 characters or fewer"),
    ("priyasharma-2026", "your name"),
])
def test_weak_passwords_are_refused_with_a_reason(password, reason):
    with pytest.raises(WeakPassword, match=reason):
        check_policy(password, **POLICY, personal=("Priya", "Sharma", "priya.sharma"))


@pytest.mark.parametrize("password", [
    "plum kettle orbit lantern",
    "Tr4ining-0fficer!",
    "a" + "long passphrase with many words " * 2,  # 64+ characters are accepted
])
def test_strong_passwords_pass(password):
    check_policy(password, **POLICY, personal=("Priya", "Sharma"))


def test_hashes_are_argon2id_and_verify():
    hashed = hash_password("plum kettle orbit lantern")
    assert hashed.startswith("$argon2id$")
    assert verify_password(hashed, "plum kettle orbit lantern")
    assert not verify_password(hashed, "plum kettle orbit lanterns")
    assert not verify_password(None, "anything")
    assert not verify_password("not-a-hash", "anything")
    assert not needs_rehash(hashed)
