"""Second factors and remembered devices."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from idp.store.base import UTCDateTime, db, utcnow


class CredentialType(enum.StrEnum):
    TOTP = "totp"
    PHONE = "phone"  # SMS or voice call to a confirmed number
    WEBAUTHN = "webauthn"
    RECOVERY_CODE = "recovery_code"
    RECOVERY_EMAIL = "recovery_email"
    RECOVERY_PHONE = "recovery_phone"


class Credential(db.Model):  # type: ignore[name-defined]
    """One way a user proves a second factor (or recovers access).

    ``secret`` holds what must stay secret, already protected by the credential
    module (an encrypted TOTP key, a hashed recovery code); ``lookup`` is what
    sign-in searches by (a WebAuthn credential id); ``data`` the rest (phone
    number, public key, sign counter, last used TOTP step)."""

    __tablename__ = "credentials"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    type: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(100), default="")
    lookup: Mapped[str | None] = mapped_column(String(255), unique=True)
    secret: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    confirmed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    @property
    def confirmed(self) -> bool:
        return self.confirmed_at is not None


class RememberedDevice(db.Model):  # type: ignore[name-defined]
    """ "Dieses Gerät merken": a browser that may skip the second factor until
    ``expires_at``. The cookie holds a random token; the row its SHA-256."""

    __tablename__ = "remembered_devices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_agent: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
