"""The one-time recovery code: sign in without the second factor, once.

A code is 16 characters from a 32-letter alphabet without look-alikes (no 0/O,
1/I), shown in four groups of four: 80 bits, far beyond guessing. It is stored
as an argon2id hash (the password context), not as an HMAC under SECRET_KEY:
the code is the last way in when the phone is gone, so it must survive a
rotation of the server secret, and it is checked so rarely that argon2's cost
does not matter. Each user has at most one confirmed code; it dies when used or
replaced.

A new code is created unconfirmed and shown once; it becomes valid (and
replaces the old one) only when the user confirms having stored it.
"""

from __future__ import annotations

import secrets
import unicodedata

from sqlalchemy import delete, select

from idp.credentials.password import password_context
from idp.errors import CodeInvalid, NotFound
from idp.store import Credential, CredentialType, User, db, utcnow

ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # 32 letters: 5 bits each
GROUPS = 4
GROUP_LENGTH = 4
LENGTH = GROUPS * GROUP_LENGTH
MAX_INPUT = 64


def generate() -> str:
    """A fresh code, formatted ``ABCD-EFGH-JKLM-NPQR``."""
    return formatted("".join(secrets.choice(ALPHABET) for _ in range(LENGTH)))


def formatted(code: str) -> str:
    """Four groups of four, as shown and printed."""
    raw = normalise(code) or ""
    return "-".join(raw[i : i + GROUP_LENGTH] for i in range(0, LENGTH, GROUP_LENGTH))


def normalise(typed: str) -> str | None:
    """The 16 letters of a typed code (any case, spaces or dashes), or None."""
    raw = unicodedata.normalize("NFKC", typed[:MAX_INPUT]).upper()
    raw = "".join(ch for ch in raw if ch not in " -\t")
    if len(raw) != LENGTH or any(ch not in ALPHABET for ch in raw):
        return None
    return raw


def has_code(user: User) -> bool:
    return _confirmed(user) is not None


def issue(user: User) -> tuple[Credential, str]:
    """A new, not yet valid code for ``user`` and its text, to show once. Other
    unconfirmed codes (shown but never acknowledged) go; the valid one stays
    until this one is confirmed."""
    db.session.execute(
        delete(Credential).where(
            Credential.user_id == user.id,
            Credential.type == str(CredentialType.RECOVERY_CODE),
            Credential.confirmed_at.is_(None),
        )
    )
    code = generate()
    credential = Credential(
        user_id=user.id,
        type=str(CredentialType.RECOVERY_CODE),
        secret=password_context.hash(code.replace("-", "")),
        data={},
    )
    db.session.add(credential)
    db.session.flush()
    return credential, code


def pending(user: User, credential_id: int, typed: str) -> Credential:
    """The unconfirmed code ``credential_id`` of ``user``, if ``typed`` is its
    text (the page that showed it posts it back). Raises NotFound."""
    credential = db.session.get(Credential, credential_id)
    code = normalise(typed)
    if (
        credential is None
        or credential.user_id != user.id
        or credential.type != CredentialType.RECOVERY_CODE
        or credential.confirmed_at is not None
        or code is None
        or not password_context.verify(code, credential.secret or "")
    ):
        raise NotFound()
    return credential


def confirm(user: User, credential: Credential) -> None:
    """The user has stored the code: it becomes the valid one, and every older
    code of the user stops working in the same moment."""
    db.session.execute(
        delete(Credential).where(
            Credential.user_id == user.id,
            Credential.type == str(CredentialType.RECOVERY_CODE),
            Credential.id != credential.id,
        )
    )
    credential.confirmed_at = utcnow()


def use(user: User, typed: str) -> Credential:
    """Check the code and spend it (single use). Raises CodeInvalid. A user
    without a code costs one hash too, so the answer takes as long."""
    code = normalise(typed)
    credential = _confirmed(user)
    if credential is None or code is None:
        password_context.dummy_verify()
        raise CodeInvalid()
    if not password_context.verify(code, credential.secret or ""):
        raise CodeInvalid()
    db.session.delete(credential)
    db.session.flush()
    return credential


def _confirmed(user: User) -> Credential | None:
    return db.session.scalar(
        select(Credential)
        .where(
            Credential.user_id == user.id,
            Credential.type == str(CredentialType.RECOVERY_CODE),
            Credential.confirmed_at.is_not(None),
        )
        .order_by(Credential.id.desc())
        .limit(1)
        .with_for_update()
    )
