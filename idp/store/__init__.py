"""The one room with SQLAlchemy models."""

from idp.store.audit import AuditEvent
from idp.store.base import db, utcnow
from idp.store.oauth import (
    AuthMethod,
    AuthorizationCode,
    Consent,
    KeyState,
    OAuthClient,
    SigningKey,
    Token,
    digest,
)
from idp.store.users import BrowserSession, User, UserStatus

__all__ = [
    "AuditEvent",
    "AuthMethod",
    "AuthorizationCode",
    "BrowserSession",
    "Consent",
    "KeyState",
    "OAuthClient",
    "SigningKey",
    "Token",
    "User",
    "UserStatus",
    "db",
    "digest",
    "utcnow",
]
