"""Purpose-bound one-time codes and links (idp/tokens.py)."""

from __future__ import annotations

import datetime as dt

import pytest

from idp import tokens
from idp.errors import CodeExpired, CodeInvalid, TooManyAttempts
from idp.store import OneTimeToken, db
from idp.tokens import Purpose


def issue(email="anna@example.de"):
    row, code = tokens.issue_code(Purpose.REGISTRATION, email=email)
    db.session.commit()
    return row, code


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def test_code_is_six_digits_stored_hashed_and_single_use(app):
    row, code = issue()
    assert len(code) == 6 and code.isdigit() and code not in row.secret_hash
    assert tokens.check_code(row, f" {code[:3]} {code[3:]} ") is row
    with pytest.raises(CodeInvalid):
        tokens.check_code(row, code)


def test_fifth_wrong_code_kills_it(app):
    row, code = issue()
    for _ in range(4):
        with pytest.raises(CodeInvalid):
            tokens.check_code(row, wrong(code))
    with pytest.raises(TooManyAttempts):
        tokens.check_code(row, wrong(code))
    with pytest.raises(TooManyAttempts):
        tokens.check_code(row, code)


def test_resend_keeps_the_failure_count(app):
    row, code = issue()
    with pytest.raises(CodeInvalid):
        tokens.check_code(row, "abcdef")
    fresh = tokens.renew_code(row)
    assert row.attempts == 1 and row.sends == 2
    with pytest.raises(CodeInvalid):
        tokens.check_code(row, code)  # the old code died with the resend
    assert tokens.check_code(row, fresh) is row


def test_expired_code_is_refused(app):
    row, code = issue()
    row.expires_at = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    with pytest.raises(CodeExpired):
        tokens.check_code(row, code)


def test_new_code_retires_the_previous_one(app):
    first, code = issue()
    issue()
    db.session.refresh(first)
    with pytest.raises(CodeInvalid):
        tokens.check_code(first, code)


def test_reset_link_dies_when_the_password_changes(app, user):
    from idp.credentials.password import hash_password

    _, token = tokens.issue_link(Purpose.PASSWORD_RESET, user, lifetime=3600)
    assert tokens.find_link(Purpose.PASSWORD_RESET, token).user_id == user.id
    user.password_hash = hash_password("Ganz-anderes-Passwort-9")
    with pytest.raises(CodeInvalid):
        tokens.find_link(Purpose.PASSWORD_RESET, token)


def test_link_is_bound_to_its_purpose_and_single_use(app, user):
    _, token = tokens.issue_link(Purpose.UNBLOCK, user, lifetime=3600)
    with pytest.raises(CodeInvalid):
        tokens.find_link(Purpose.PASSWORD_RESET, token)
    tokens.use_link(Purpose.UNBLOCK, token)
    with pytest.raises(CodeInvalid):
        tokens.use_link(Purpose.UNBLOCK, token)
    with pytest.raises(CodeInvalid):
        tokens.find_link(Purpose.UNBLOCK, "x" * 500)


def test_secrets_are_keyed_with_the_server_secret(app):
    row, code = issue()
    import hashlib

    assert row.secret_hash != hashlib.sha256(f"registration:{code}".encode()).hexdigest()
    assert db.session.get(OneTimeToken, row.id).secret_hash == row.secret_hash
