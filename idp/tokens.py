"""Purpose-bound, expiring, single-use codes and links, stored hashed.

A *code* is six digits the person types (registration, email change); it allows
``accounts.code_max_attempts`` wrong tries. A *link* carries a 256-bit random
token (password reset, unblock, invitation). Both are stored as an HMAC keyed with
the server secret, used once, and die at ``expires_at``. Most links belong to a
user; an invitation link belongs to an address that may have no account yet
(``issue_link_for_email``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from enum import StrEnum
from typing import Any

from flask import current_app
from sqlalchemy import select, update

from idp.errors import CodeExpired, CodeInvalid, TooManyAttempts
from idp.store import OneTimeToken, User, db, utcnow


class Purpose(StrEnum):
    REGISTRATION = "registration"
    EMAIL_CHANGE = "email_change"
    PASSWORD_RESET = "password_reset"
    UNBLOCK = "unblock"
    INVITATION = "invitation"


def _hash(secret: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, secret.encode(), hashlib.sha256).hexdigest()


def password_fingerprint(user: User) -> str:
    """Changes whenever the password does: binds reset links to the old one."""
    return _hash("pw:" + (user.password_hash or ""))[:32]


def new_code() -> str:
    return f"{secrets.randbelow(1_000_000):06d}"


def issue_code(
    purpose: Purpose,
    *,
    email: str,
    user: User | None = None,
    payload: dict[str, Any] | None = None,
    lifetime: int | None = None,
) -> tuple[OneTimeToken, str]:
    """A new six-digit code; earlier unused codes of the same purpose and address die."""
    accounts = current_app.config["IDP"].accounts
    _retire(purpose, email=email)
    code = new_code()
    row = OneTimeToken(
        purpose=str(purpose),
        secret_hash=_hash(f"{purpose}:{code}"),
        user_id=user.id if user else None,
        email=email,
        payload=payload or {},
        expires_at=utcnow() + dt.timedelta(seconds=lifetime or accounts.code_lifetime),
    )
    db.session.add(row)
    db.session.flush()
    return row, code


def renew_code(row: OneTimeToken) -> str:
    """ "Code erneut senden": a fresh code in the same record, so the count of
    wrong tries carries over and cannot be reset by asking again."""
    code = new_code()
    row.secret_hash = _hash(f"{row.purpose}:{code}")
    row.sends += 1
    row.last_sent_at = utcnow()
    return code


def check_code(row: OneTimeToken | None, code: str) -> OneTimeToken:
    """Verify and consume. Wrong codes count; the last allowed wrong try kills it."""
    accounts = current_app.config["IDP"].accounts
    if row is None or row.used_at is not None:
        raise CodeInvalid()
    if row.expires_at <= utcnow():
        raise CodeExpired()
    if row.attempts >= accounts.code_max_attempts:
        raise TooManyAttempts()
    candidate = code.strip().replace(" ", "")
    if not (len(candidate) == 6 and candidate.isdigit()) or not hmac.compare_digest(
        row.secret_hash, _hash(f"{row.purpose}:{candidate}")
    ):
        row.attempts += 1
        if row.attempts >= accounts.code_max_attempts:
            raise TooManyAttempts()
        raise CodeInvalid()
    _consume(row)
    return row


def issue_link(
    purpose: Purpose, user: User, *, lifetime: int, payload: dict[str, Any] | None = None
) -> tuple[OneTimeToken, str]:
    """A new link token; earlier unused links of the same purpose and user die."""
    _retire(purpose, user=user)
    token = secrets.token_urlsafe(32)
    row = OneTimeToken(
        purpose=str(purpose),
        secret_hash=_hash(f"{purpose}:{token}"),
        user_id=user.id,
        email=user.email,
        payload=payload or {},
        bound_to=password_fingerprint(user) if purpose == Purpose.PASSWORD_RESET else None,
        expires_at=utcnow() + dt.timedelta(seconds=lifetime),
    )
    db.session.add(row)
    db.session.flush()
    return row, token


def issue_link_for_email(
    purpose: Purpose, email: str, *, lifetime: int, payload: dict[str, Any] | None = None
) -> tuple[OneTimeToken, str]:
    """A new link token for an address rather than a user (an invitation to
    someone who may have no account yet). Earlier links are left alone: an address
    may hold invitations from several senders; callers retire what they supersede."""
    token = secrets.token_urlsafe(32)
    row = OneTimeToken(
        purpose=str(purpose),
        secret_hash=_hash(f"{purpose}:{token}"),
        user_id=None,
        email=email,
        payload=payload or {},
        expires_at=utcnow() + dt.timedelta(seconds=lifetime),
    )
    db.session.add(row)
    db.session.flush()
    return row, token


def find_link(purpose: Purpose, token: str) -> OneTimeToken:
    """The live link for ``token`` (not consumed yet); raises CodeInvalid/CodeExpired."""
    if not token or len(token) > 100:
        raise CodeInvalid()
    row = db.session.scalar(
        select(OneTimeToken).where(
            OneTimeToken.secret_hash == _hash(f"{purpose}:{token}"),
            OneTimeToken.purpose == str(purpose),
        )
    )
    if row is None or row.used_at is not None:
        raise CodeInvalid()
    if row.expires_at <= utcnow():
        raise CodeExpired()
    if row.bound_to is not None:
        user = db.session.get(User, row.user_id)
        if user is None or row.bound_to != password_fingerprint(user):
            raise CodeInvalid()  # the password changed since the link was sent
    return row


def use_link(purpose: Purpose, token: str) -> OneTimeToken:
    row = find_link(purpose, token)
    _consume(row)
    return row


def consume(row: OneTimeToken) -> None:
    """Use up a link a flow holds by its record rather than its token (the
    invitation behind a registration code); raises CodeInvalid/CodeExpired."""
    if row.used_at is not None:
        raise CodeInvalid()
    if row.expires_at <= utcnow():
        raise CodeExpired()
    _consume(row)


def _consume(row: OneTimeToken) -> None:
    """Single use even under concurrent requests: only one UPDATE wins."""
    result = db.session.execute(
        update(OneTimeToken)
        .where(OneTimeToken.id == row.id, OneTimeToken.used_at.is_(None))
        .values(used_at=utcnow())
        .execution_options(synchronize_session="fetch")
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise CodeInvalid()


def _retire(purpose: Purpose, *, email: str | None = None, user: User | None = None) -> None:
    condition = OneTimeToken.user_id == user.id if user else OneTimeToken.email == email
    db.session.execute(
        update(OneTimeToken)
        .where(condition, OneTimeToken.purpose == str(purpose), OneTimeToken.used_at.is_(None))
        .values(used_at=utcnow())
        .execution_options(synchronize_session="fetch")
    )
