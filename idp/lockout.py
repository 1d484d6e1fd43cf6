"""Brute-force protection per account: consecutive failed logins block it for a while.

After ``accounts.lockout_threshold`` failures in a row the account is blocked for
``lockout_base_seconds * 2 ** (failures - threshold)`` seconds, at most
``lockout_max_seconds``. Failures while blocked still count but extend nothing,
so once the block ends the next wrong password blocks again, for twice as long.
A successful login, an unblock link or a password reset clears the counter.

The counters live in the ``users`` row, so they survive restarts and are shared
by every worker; the client address plays no part, so neither a botnet nor a
forged ``X-Forwarded-For`` gets more tries.

What the login page says: a blocked account gets "too many failed attempts"
even with the right password, which would tell an attacker that the address has
an account. So an address without an account gets the very same message once it
has collected as many failures; those are counted in the rate-limit storage
(memory or Redis, shared like the rate limits), as there is no row to keep them.
The owner of a real account learns of the block by mail, with an unblock link.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math

from flask import current_app
from sqlalchemy import or_, update

from idp import accounts, tokens
from idp.audit import EventTag, record_event
from idp.extensions import limiter
from idp.mail import issuer_url
from idp.mail.recovery import send_account_blocked
from idp.store import User, UserStatus, db, utcnow
from idp.tokens import Purpose

# How long failures against an address without an account are remembered.
UNKNOWN_MEMORY_SECONDS = 24 * 3600


def is_blocked(user: User) -> bool:
    return user.blocked_until is not None and user.blocked_until > utcnow()


def block_seconds(failures: int) -> int:
    """The growing wait: base, 2 x base, 4 x base, ... up to the maximum."""
    config = current_app.config["IDP"].accounts
    doublings = min(max(failures - config.lockout_threshold, 0), 32)
    return int(min(config.lockout_base_seconds * 2**doublings, config.lockout_max_seconds))


def note_failure(user: User | None, email: str) -> bool:
    """Count one wrong password for ``user`` (or an address without an account).
    Returns whether the login page should now say "too many attempts"."""
    if user is None:
        return _count_unknown(email) >= current_app.config["IDP"].accounts.lockout_threshold
    # One UPDATE per failure: concurrent attempts from several workers all count.
    db.session.execute(
        update(User)
        .where(User.id == user.id)
        .values(failed_logins=User.failed_logins + 1)
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(user, ["failed_logins", "blocked_until"])
    if user.failed_logins < current_app.config["IDP"].accounts.lockout_threshold:
        return False
    if not is_blocked(user):
        _block(user)
    return True


def note_success(user: User) -> None:
    """The right password while not blocked: the count starts again."""
    if user.failed_logins or user.blocked_until is not None:
        clear(user)


def clear(user: User) -> None:
    user.failed_logins = 0
    user.blocked_until = None


def check_unblock_link(token: str) -> User:
    """The account an unblock link belongs to, without using the link up (mail
    scanners open links). Raises CodeInvalid or CodeExpired."""
    row = tokens.find_link(Purpose.UNBLOCK, token)
    return db.session.get_one(User, row.user_id)


def unblock(token: str) -> User:
    """Use the emailed unblock link: the block and the failure count are gone."""
    row = tokens.use_link(Purpose.UNBLOCK, token)
    user = db.session.get_one(User, row.user_id)
    clear(user)
    record_event(EventTag.ACCOUNT_UNBLOCKED, user=user, via="link")
    return user


def _block(user: User) -> None:
    """Block from now on; the mail goes out once per block, even when several
    workers see the threshold crossed at the same moment (only one UPDATE wins)."""
    now = utcnow()
    seconds = block_seconds(user.failed_logins)
    won = db.session.execute(
        update(User)
        .where(User.id == user.id, or_(User.blocked_until.is_(None), User.blocked_until <= now))
        .values(blocked_until=now + dt.timedelta(seconds=seconds))
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(user, ["blocked_until"])
    if won.rowcount != 1:  # type: ignore[attr-defined]
        return
    record_event(EventTag.ACCOUNT_BLOCKED, user=user, failures=user.failed_logins, seconds=seconds)
    if user.status == UserStatus.DELETED:
        return
    lifetime = current_app.config["IDP"].accounts.unblock_link_lifetime
    _, token = tokens.issue_link(Purpose.UNBLOCK, user, lifetime=lifetime)
    link = issuer_url("recovery.unblock", token=token)
    send_account_blocked(user, link, minutes=math.ceil(seconds / 60))


def _count_unknown(email: str) -> int:
    address = accounts.normalise_email(email)[:320].encode()
    key = "lockout/unknown/" + hashlib.sha256(address).hexdigest()
    return int(limiter.storage.incr(key, UNKNOWN_MEMORY_SECONDS))
