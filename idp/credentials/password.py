"""Passwords: argon2id with OWASP parameters, older formats verified and upgraded.

OWASP Password Storage Cheat Sheet: argon2id, m=19 MiB, t=2, p=1. Hashes in any
format of ``LEGACY_SCHEMES`` (imported accounts) still verify and are rehashed to
argon2id on the next successful login.
"""

from __future__ import annotations

import functools

from passlib.context import CryptContext

from idp.errors import InvalidCredentials
from idp.store import User

LEGACY_SCHEMES = [
    "bcrypt",
    "sha512_crypt",
    "sha256_crypt",
    "pbkdf2_sha256",
    "md5_crypt",
    "ldap_salted_sha1",
    "ldap_md5",
]

password_context = CryptContext(
    schemes=["argon2", *LEGACY_SCHEMES],
    default="argon2",
    deprecated=LEGACY_SCHEMES,
    argon2__type="ID",
    argon2__memory_cost=19 * 1024,
    argon2__rounds=2,
    argon2__parallelism=1,
)


def hash_password(password: str) -> str:
    return password_context.hash(password)


@functools.cache
def dummy_hash() -> str:
    """A hash to verify against when there is no account, so that costs the same."""
    return password_context.hash("not-a-real-password")


def verify(user: User | None, password: str) -> None:
    """Check the password; raise InvalidCredentials if it is wrong or the user is
    unknown. Unknown users cost one argon2id verification too, so the response
    time does not tell whether an address has an account. A correct password
    stored in an old format is rehashed (the caller commits)."""
    if user is None or not user.password_hash:
        password_context.verify(password, dummy_hash())
        raise InvalidCredentials()
    valid, new_hash = password_context.verify_and_update(password, user.password_hash)
    if not valid:
        raise InvalidCredentials()
    if new_hash:
        user.password_hash = new_hash
