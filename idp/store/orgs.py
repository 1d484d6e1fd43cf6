"""Customer accounts (Kundenkonten), memberships and accounts of the old portal."""

from __future__ import annotations

import datetime as dt
import enum
from typing import TYPE_CHECKING

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from idp.store.base import UTCDateTime, db, utcnow

if TYPE_CHECKING:
    from idp.store.users import User


class Country(enum.StrEnum):
    DE = "DE"
    AT = "AT"


class ProductLine(enum.StrEnum):
    """The "Zugehörigkeit" a customer account belongs to."""

    SAGE50 = "sage50"
    SAGE100 = "sage100"
    SAGEHR = "sagehr"
    SAGEX3 = "sagex3"
    SAGEB7 = "sageb7"
    WINCARAT = "wincarat"
    DPW = "dpw"


class MembershipRole(enum.StrEnum):
    EMPLOYEE = "employee"  # "Mitarbeiter"
    ADMIN = "admin"  # "Administrator"


class MembershipStatus(enum.StrEnum):
    PENDING = "pending"
    ACTIVE = "active"
    LOCKED = "locked"


class AdminRequestStatus(enum.StrEnum):
    """An application for administrator rights ("Admin-Rechte beantragen")."""

    AWAITING_CONSENT = "awaiting_consent"  # an existing administrator must agree first
    PENDING = "pending"  # waiting for the operator
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


class CustomerAccount(db.Model):  # type: ignore[name-defined]
    """A company as the billing system knows it, keyed by its 9-digit customer number."""

    __tablename__ = "customer_accounts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_number: Mapped[str] = mapped_column(String(9), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    country: Mapped[str] = mapped_column(String(2))
    product_line: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Membership(db.Model):  # type: ignore[name-defined]
    """A user in a customer account: role, status and permission codes."""

    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("user_id", "customer_account_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    customer_account_id: Mapped[int] = mapped_column(
        ForeignKey("customer_accounts.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[str] = mapped_column(String(16), default=MembershipRole.EMPLOYEE)
    status: Mapped[str] = mapped_column(String(16), default=MembershipStatus.PENDING)
    permissions: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    customer_account: Mapped[CustomerAccount] = relationship(lazy="joined")
    user: Mapped[User] = relationship()


class LegacyAccount(db.Model):  # type: ignore[name-defined]
    """An account of the old portal ("Servicewelt"), imported by the operator and
    linked once to a user, who takes over its membership (and, if they have none,
    its password hash). ``username`` is stored lower-cased."""

    __tablename__ = "legacy_accounts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(150), unique=True)
    password_hash: Mapped[str] = mapped_column(Text)
    customer_account_id: Mapped[int] = mapped_column(
        ForeignKey("customer_accounts.id", ondelete="CASCADE"), index=True
    )
    email: Mapped[str | None] = mapped_column(String(320))
    given_name: Mapped[str | None] = mapped_column(String(100))
    family_name: Mapped[str | None] = mapped_column(String(100))
    linked_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    linked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    customer_account: Mapped[CustomerAccount] = relationship(lazy="joined")


class AdminRequest(db.Model):  # type: ignore[name-defined]
    """A member's application for administrator rights: consented by an existing
    administrator where there is one, then approved or rejected by the operator."""

    __tablename__ = "admin_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    membership_id: Mapped[int] = mapped_column(
        ForeignKey("memberships.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(24), default=AdminRequestStatus.PENDING)
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    consented_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    consented_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(320))  # operator (email or "cli")
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    decision_note: Mapped[str | None] = mapped_column(Text)

    membership: Mapped[Membership] = relationship(lazy="joined")
