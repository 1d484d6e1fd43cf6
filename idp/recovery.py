"""Password reset by emailed link ("Passwort vergessen?").

The link is purpose-bound (``Purpose.PASSWORD_RESET``), single-use, expires after
``accounts.reset_link_lifetime`` and dies as soon as the password changes (it is
bound to a fingerprint of the password hash it was issued for).

A reset never signs in, so the MFA step of the login flow still applies: the
person chooses a new password and then logs in with it like anyone else. This is
the hook for multi-factor authentication: a mailbox alone must never be enough
to get past a second factor.
"""

from __future__ import annotations

import math

from flask import current_app

from idp import accounts, lockout, tokens
from idp.audit import EventTag, record_event
from idp.credentials.password import hash_password
from idp.errors import CodeInvalid
from idp.mail import issuer_url
from idp.mail.account import send_password_changed
from idp.mail.recovery import send_password_reset
from idp.oidc.backchannel import sign_out_everywhere
from idp.security.passwords import check_new_password
from idp.store import User, UserStatus, db, utcnow
from idp.tokens import Purpose


def request_reset(email: str, *, rid: str | None = None) -> None:
    """Mail a reset link if ``email`` belongs to an account; otherwise do nothing
    visible. The caller answers the same either way. Both paths look the address
    up and write an audit event; the known one also stores the link and queues
    the mail (about 2 ms more on SQLite). The mail is sent by the outbox once
    the view has committed."""
    user = accounts.find_by_email(email)
    if user is None or user.status == UserStatus.DELETED:
        record_event(EventTag.PASSWORD_RESET_REQUESTED, known=False)
        return
    lifetime = current_app.config["IDP"].accounts.reset_link_lifetime
    _, token = tokens.issue_link(Purpose.PASSWORD_RESET, user, lifetime=lifetime)
    link = issuer_url("recovery.reset", token=token, rid=rid or None)
    send_password_reset(user, link, minutes=math.ceil(lifetime / 60))
    record_event(EventTag.PASSWORD_RESET_REQUESTED, user=user, known=True)


def check_reset_link(token: str) -> User:
    """The account a reset link belongs to, without using the link up: mail
    scanners fetch links before the person does. Raises CodeInvalid/CodeExpired."""
    row = tokens.find_link(Purpose.PASSWORD_RESET, token)
    user = db.session.get_one(User, row.user_id)
    if user.status == UserStatus.DELETED:
        raise CodeInvalid()
    return user


def reset_password(token: str, password: str, confirmation: str) -> User:
    """Set a new password with a reset link and use the link up.

    The policy is checked first, so a rejected password leaves the link usable
    (PasswordRejected). Then every session ends and every token is revoked,
    because whoever knew the old password may be signed in somewhere (relying
    parties hear of it by back-channel logout); the failed
    login counter and any block are cleared, since the owner has just proved
    control of the mailbox. A confirmation mail goes to the account. Raises
    CodeInvalid or CodeExpired for a dead link.

    A reset never signs in, so the MFA step of the login flow still applies."""
    user = check_reset_link(token)
    password = check_new_password(password, confirmation, email=user.email)
    tokens.use_link(Purpose.PASSWORD_RESET, token)
    user.password_hash = hash_password(password)
    user.password_changed_at = utcnow()
    lockout.clear(user)
    sign_out_everywhere(user)
    record_event(EventTag.PASSWORD_RESET, user=user)
    send_password_changed(user)
    return user
