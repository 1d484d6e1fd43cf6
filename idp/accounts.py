"""User lifecycle services: create, find, sign-in bookkeeping."""

from __future__ import annotations

import unicodedata

from sqlalchemy import select

from idp.audit import EventTag, record_event
from idp.credentials import password as password_credential
from idp.errors import AccountLocked, Conflict
from idp.store import User, db, utcnow

MAX_EMAIL_LENGTH = 320


def normalise_email(email: str) -> str:
    """One spelling per address: Unicode NFKC, surrounding space removed, lower case.

    Lower-casing the local part is stricter than RFC 5321 allows in theory, but no
    mail provider we serve treats case as significant, and two accounts for
    ``Anna@x.de`` and ``anna@x.de`` would be a support nightmare."""
    return unicodedata.normalize("NFKC", email).strip().casefold()


def find_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == normalise_email(email)))


def create_user(
    email: str,
    password: str | None,
    *,
    given_name: str | None = None,
    family_name: str | None = None,
    email_verified: bool = False,
    **claims: object,
) -> User:
    email = normalise_email(email)
    if find_by_email(email) is not None:
        raise Conflict(f"a user with the email {email} exists")
    user = User(
        email=email,
        email_verified=email_verified,
        given_name=given_name,
        family_name=family_name,
        password_hash=password_credential.hash_password(password) if password else None,
        **claims,
    )
    db.session.add(user)
    db.session.flush()
    record_event(EventTag.USER_CREATED, user=user)
    return user


def authenticate_password(email: str, password: str) -> User:
    """The password step of a login. Raises InvalidCredentials for an unknown email
    and a wrong password alike, AccountLocked only after the password was right
    (so the lock does not reveal that the address exists)."""
    user = find_by_email(email) if len(email) <= MAX_EMAIL_LENGTH else None
    try:
        password_credential.verify(user, password)
    except Exception:
        record_event(EventTag.LOGIN_FAILED, user=user)
        raise
    assert user is not None
    if not user.is_active:
        raise AccountLocked()
    return user


def note_login(user: User) -> None:
    user.last_login_at = utcnow()
    record_event(EventTag.LOGIN_SUCCEEDED, user=user)
