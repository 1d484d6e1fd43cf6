"""People and their browser sessions."""

from __future__ import annotations

import datetime as dt
import enum
import secrets
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from idp.store.base import UTCDateTime, db, utcnow


class UserStatus(enum.StrEnum):
    ACTIVE = "active"
    LOCKED = "locked"
    DELETED = "deleted"


def new_subject() -> str:
    """Stable, opaque, non-reassigned subject identifier (OIDC Core 2, ``sub``)."""
    return secrets.token_hex(16)


class User(db.Model):  # type: ignore[name-defined]
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sub: Mapped[str] = mapped_column(String(64), unique=True, default=new_subject)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    email_verified: Mapped[bool] = mapped_column(Boolean, default=False)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16), default=UserStatus.ACTIVE)

    salutation: Mapped[str | None] = mapped_column(String(32))
    given_name: Mapped[str | None] = mapped_column(String(100))
    family_name: Mapped[str | None] = mapped_column(String(100))
    middle_name: Mapped[str | None] = mapped_column(String(100))
    nickname: Mapped[str | None] = mapped_column(String(100))
    preferred_username: Mapped[str | None] = mapped_column(String(100))
    gender: Mapped[str | None] = mapped_column(String(32))
    birthdate: Mapped[str | None] = mapped_column(String(10))
    zoneinfo: Mapped[str | None] = mapped_column(String(64))
    locale: Mapped[str | None] = mapped_column(String(16))
    picture: Mapped[str | None] = mapped_column(String(500))
    website: Mapped[str | None] = mapped_column(String(500))
    profile_url: Mapped[str | None] = mapped_column(String(500))
    phone_number: Mapped[str | None] = mapped_column(String(32))
    phone_number_verified: Mapped[bool] = mapped_column(Boolean, default=False)
    address: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    password_changed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    blocked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # operators approve administrators and run the operator pages
    is_operator: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    @property
    def display_name(self) -> str:
        name = " ".join(n for n in (self.given_name, self.family_name) if n)
        return name or self.email

    @property
    def is_active(self) -> bool:
        return self.status == UserStatus.ACTIVE

    def get_user_id(self) -> str:
        """Authlib's resource-owner id: the public subject, never the row id."""
        return self.sub


class BrowserSession(db.Model):  # type: ignore[name-defined]
    """Server-side session. The cookie holds a random value; the row is keyed by
    its SHA-256, so a database leak does not yield usable cookies."""

    __tablename__ = "browser_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    sid: Mapped[str] = mapped_column(String(43), unique=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    auth_time: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    amr: Mapped[list[str] | None] = mapped_column(JSON)
    acr: Mapped[str | None] = mapped_column(String(64))
    ip: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
