"""User lifecycle services: create, find, sign-in bookkeeping."""

from __future__ import annotations

import unicodedata

from flask_babel import gettext as _
from sqlalchemy import select

from idp import lockout
from idp.audit import EventTag, record_event
from idp.credentials import password as password_credential
from idp.errors import AccountBlocked, AccountLocked, Conflict, InvalidCredentials
from idp.store import User, db, utcnow

MAX_EMAIL_LENGTH = 320


def normalise_email(email: str) -> str:
    """One spelling per address: Unicode NFKC, surrounding space removed, lower case.

    Lower-casing the local part is stricter than RFC 5321 allows in theory, but no
    mail provider we serve treats case as significant, and two accounts for
    ``Anna@x.de`` and ``anna@x.de`` would be a support nightmare."""
    return unicodedata.normalize("NFKC", email).strip().casefold()


def name_character_error(value: str) -> str | None:
    """The message for a name (or salutation) with control characters, else None.

    Line breaks, tabs, NUL, format characters (Unicode category "C") are never part
    of a name, and a line break would break the mail headers it ends up in later.
    The one check for registration, invitations and the account page."""
    if any(unicodedata.category(c).startswith("C") for c in value):
        return _("Der Name enthält unzulässige Zeichen.")
    return None


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
    (so the lock does not reveal that the address exists).

    Brute-force protection (``idp.lockout``): every wrong password counts against
    the account; from ``accounts.lockout_threshold`` failures on it raises
    AccountBlocked instead, even for the right password while the block lasts. An
    address without an account answers AccountBlocked after as many failures, so
    the message does not tell the two apart. The password is verified in every
    case, so the time taken does not tell either."""
    user = find_by_email(email) if len(email) <= MAX_EMAIL_LENGTH else None
    blocked = user is not None and lockout.is_blocked(user)
    try:
        password_credential.verify(user, password)
    except InvalidCredentials:
        record_event(EventTag.LOGIN_FAILED, user=user)
        if lockout.note_failure(user, email):
            raise AccountBlocked() from None
        raise
    assert user is not None
    if blocked:
        record_event(EventTag.LOGIN_FAILED, user=user, reason="blocked")
        raise AccountBlocked()
    if not user.is_active:
        raise AccountLocked()
    lockout.note_success(user)
    return user


def note_login(user: User, *, client_id: str | None = None) -> None:
    """A completed sign-in, for the client it was for (if any)."""
    user.last_login_at = utcnow()
    record_event(EventTag.LOGIN_SUCCEEDED, user=user, client_id=client_id and client_id[:64])
