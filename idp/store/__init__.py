"""The one room with SQLAlchemy models."""

from idp.store.audit import AuditEvent
from idp.store.base import db, utcnow
from idp.store.credentials import Credential, CredentialType, RememberedDevice
from idp.store.mail import OutboxMessage
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
from idp.store.orgs import (
    AdminRequest,
    AdminRequestStatus,
    Country,
    CustomerAccount,
    LegacyAccount,
    Membership,
    MembershipRole,
    MembershipStatus,
    ProductLine,
)
from idp.store.tokens import OneTimeToken
from idp.store.users import BrowserSession, User, UserStatus

__all__ = [
    "AdminRequest",
    "AdminRequestStatus",
    "AuditEvent",
    "AuthMethod",
    "AuthorizationCode",
    "BrowserSession",
    "Credential",
    "CredentialType",
    "Country",
    "CustomerAccount",
    "LegacyAccount",
    "Membership",
    "MembershipRole",
    "MembershipStatus",
    "ProductLine",
    "RememberedDevice",
    "Consent",
    "KeyState",
    "OAuthClient",
    "OneTimeToken",
    "OutboxMessage",
    "SigningKey",
    "Token",
    "User",
    "UserStatus",
    "db",
    "digest",
    "utcnow",
]
