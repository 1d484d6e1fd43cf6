"""Customer accounts: operator imports, joining by customer number or by linking
a legacy account, and which membership a token carries.

Services flush, never commit; every change records an audit event."""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, delete, select
from sqlalchemy.sql import ColumnElement

from idp.audit import EventTag, record_event
from idp.credentials.password import dummy_hash, password_context
from idp.errors import (
    Conflict,
    InvalidCredentials,
    InvalidCustomerNumber,
    InvoicePrefix,
    NotFound,
    WrongAffiliation,
)
from idp.store import (
    AdminRequest,
    Country,
    CustomerAccount,
    LegacyAccount,
    Membership,
    MembershipRole,
    MembershipStatus,
    ProductLine,
    User,
    UserStatus,
    db,
    utcnow,
)

CUSTOMER_NUMBER = re.compile(r"[0-9]{9}")
FIRST_DATA_LINE = 2  # line 1 of a CSV file is its header


@dataclass
class ImportResult:
    """What an import did; ``errors`` are (line number, message), lines refused."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)


# -- operator imports ---------------------------------------------------------------
def import_customers(rows: Iterable[Mapping[str, Any]]) -> ImportResult:
    """Create or update customer accounts from rows with ``customer_number``,
    ``name``, ``country`` and ``product_line``. Idempotent: a known number is
    updated. Invalid lines are reported and skipped, the others imported."""
    result = ImportResult()
    for line, row in enumerate(rows, start=FIRST_DATA_LINE):
        try:
            values = _customer_values(row)
        except ValueError as exc:
            result.errors.append((line, str(exc)))
            continue
        if not _upsert(find_customer(values["customer_number"]), CustomerAccount, values, result):
            continue
        record_event(
            EventTag.CUSTOMER_IMPORTED,
            customer_number=values["customer_number"],
            name=values["name"],
            country=values["country"],
            product_line=values["product_line"],
        )
        db.session.flush()
    return result


def _upsert(existing: Any, model: Any, values: dict[str, Any], result: ImportResult) -> bool:
    """Create the row or bring it up to date; counts the outcome in ``result``
    and says whether anything changed (and so deserves an audit event)."""
    if existing is None:
        db.session.add(model(**values))
        result.created += 1
        return True
    if all(getattr(existing, key) == value for key, value in values.items()):
        result.unchanged += 1
        return False
    for key, value in values.items():
        setattr(existing, key, value)
    result.updated += 1
    return True


def _customer_values(row: Mapping[str, Any]) -> dict[str, str]:
    number = _field(row, "customer_number")
    if not CUSTOMER_NUMBER.fullmatch(number):
        raise ValueError(f"customer_number {number!r} is not exactly 9 digits")
    name = _field(row, "name")
    if not name or len(name) > 200:
        raise ValueError("name is empty or longer than 200 characters")
    country = _field(row, "country").upper()
    if country not in set(Country):
        raise ValueError(f"country {country!r} is not one of {', '.join(Country)}")
    product_line = _field(row, "product_line").lower()
    if product_line not in set(ProductLine):
        raise ValueError(f"product_line {product_line!r} is not one of {', '.join(ProductLine)}")
    return {
        "customer_number": number,
        "name": name,
        "country": country,
        "product_line": product_line,
    }


def import_legacy_accounts(rows: Iterable[Mapping[str, Any]]) -> ImportResult:
    """Create or update accounts of the old portal from rows with ``username``,
    ``password_hash``, ``customer_number``, ``email``, ``given_name``,
    ``family_name``. The hash format is identified from the hash itself; the
    optional ``hash_scheme`` column is only a cross-check. A linked account keeps
    its link."""
    result = ImportResult()
    for line, row in enumerate(rows, start=FIRST_DATA_LINE):
        try:
            values = _legacy_values(row)
        except ValueError as exc:
            result.errors.append((line, str(exc)))
            continue
        legacy = db.session.scalar(
            select(LegacyAccount).where(LegacyAccount.username == values["username"])
        )
        if not _upsert(legacy, LegacyAccount, values, result):
            continue
        record_event(
            EventTag.LEGACY_IMPORTED,
            username=values["username"],
            customer_number=_field(row, "customer_number"),
            scheme=password_context.identify(values["password_hash"]),
        )
        db.session.flush()
    return result


def _legacy_values(row: Mapping[str, Any]) -> dict[str, Any]:
    username = _field(row, "username").lower()
    if not username or len(username) > 150:
        raise ValueError("username is empty or longer than 150 characters")
    password_hash = _field(row, "password_hash")
    scheme = password_context.identify(password_hash, required=False) if password_hash else None
    if scheme is None:
        raise ValueError("password_hash is in no known format")
    named = _field(row, "hash_scheme")
    if named and named != scheme:
        raise ValueError(f"password_hash looks like {scheme}, but hash_scheme says {named}")
    account = find_customer(_field(row, "customer_number"))
    if account is None:
        raise ValueError(f"customer_number {_field(row, 'customer_number')!r} is not imported")
    return {
        "username": username,
        "password_hash": password_hash,
        "customer_account_id": account.id,
        "email": _field(row, "email") or None,
        "given_name": _field(row, "given_name") or None,
        "family_name": _field(row, "family_name") or None,
    }


def _field(row: Mapping[str, Any], name: str) -> str:
    value = row.get(name)
    return value.strip() if isinstance(value, str) else ""


# -- joining --------------------------------------------------------------------------
def find_customer(number: str) -> CustomerAccount | None:
    return db.session.scalar(
        select(CustomerAccount).where(CustomerAccount.customer_number == number)
    )


def parse_customer_number(raw: str) -> str:
    """What a user typed, as a customer number: spaces removed; the "D" invoices
    print before the number is explained, not silently dropped."""
    number = "".join(raw.split())
    if number[:1] in ("D", "d"):
        raise InvoicePrefix(
            "Bitte geben Sie die 9 Ziffern Ihrer Kundennummer ohne das vorangestellte D ein."
        )
    if not CUSTOMER_NUMBER.fullmatch(number):
        raise InvalidCustomerNumber("Die Kundennummer besteht aus genau 9 Ziffern.")
    return number


def join_by_customer_number(
    user: User, raw_number: str, *, product_lines: Collection[str] | None = None
) -> Membership:
    """ "Jetzt registrieren": join the customer account with this number.
    ``product_lines``: those of the affiliation the user chose; an account of
    another product line raises WrongAffiliation."""
    account = find_customer(parse_customer_number(raw_number))
    if account is None:
        raise NotFound("Zu dieser Kundennummer gibt es kein Kundenkonto.")
    if product_lines is not None and account.product_line not in product_lines:
        raise WrongAffiliation("Diese Kundennummer gehört nicht zur gewählten Zugehörigkeit.")
    if membership_in(user, account) is not None:
        raise Conflict("Sie gehören diesem Kundenkonto bereits an.")
    return _new_membership(user, account, via="customer_number")


def link_legacy_account(user: User, username: str, password: str) -> Membership:
    """ "Jetzt verknüpfen": take over a legacy account's membership and, if the user
    has no password yet, its password (upgraded to argon2id). Unknown usernames
    cost one password verification too. Rate limiting is the caller's job."""
    legacy = db.session.scalar(
        select(LegacyAccount).where(LegacyAccount.username == username.strip().lower())
    )
    if legacy is None:
        password_context.verify(password, dummy_hash())
        raise InvalidCredentials()
    valid, new_hash = password_context.verify_and_update(password, legacy.password_hash)
    if not valid:
        raise InvalidCredentials()
    if legacy.linked_user_id is not None:
        raise Conflict("Dieses Konto ist bereits verknüpft.")
    if not user.password_hash:
        user.password_hash = new_hash or legacy.password_hash
    legacy.linked_user_id = user.id
    legacy.linked_at = utcnow()
    record_event(
        EventTag.LEGACY_LINKED,
        user=user,
        actor=user,
        account=legacy.customer_account,
        username=legacy.username,
        customer_number=legacy.customer_account.customer_number,
    )
    existing = membership_in(user, legacy.customer_account)
    if existing is not None:
        db.session.flush()
        return existing
    return _new_membership(user, legacy.customer_account, via="legacy_account")


def _new_membership(user: User, account: CustomerAccount, *, via: str) -> Membership:
    """Without an administrator a new member is active (with no permissions); once
    the customer account has one, new members wait for activation."""
    status = MembershipStatus.PENDING if has_active_admin(account) else MembershipStatus.ACTIVE
    membership = Membership(
        user_id=user.id,
        customer_account_id=account.id,
        customer_account=account,
        role=MembershipRole.EMPLOYEE,
        status=status,
        permissions=[],
    )
    db.session.add(membership)
    record_event(
        EventTag.MEMBERSHIP_CREATED,
        user=user,
        actor=user,
        account=account,
        customer_number=account.customer_number,
        status=str(status),
        via=via,
    )
    db.session.flush()
    if status == MembershipStatus.PENDING:
        notify_admins_of_pending(membership, user)
    return membership


def notify_admins_of_pending(membership: Membership, member: User) -> None:
    """ "Neue Accounts können nur noch vom Administrator aktiviert werden": every
    active administrator of the customer account learns of the new member by mail."""
    from idp.mail import invitations as mail

    account = membership.customer_account
    for admin in active_admins(account):
        if admin.id != member.id:
            mail.send_membership_pending(admin, member, account)


# -- administrators ------------------------------------------------------------------
def _is_active_admin() -> ColumnElement[bool]:
    """The one definition of an administrator who counts: an active admin
    membership of a user whose account is active (not deleted)."""
    return and_(
        Membership.role == MembershipRole.ADMIN,
        Membership.status == MembershipStatus.ACTIVE,
        User.status == UserStatus.ACTIVE,
    )


def active_admin_memberships(
    account: CustomerAccount, *, for_update: bool = False
) -> list[Membership]:
    """The administrators' memberships. ``for_update`` locks them (PostgreSQL)
    and re-reads them, so rules like "the last administrator stays" hold when
    two administrators act at once."""
    query = (
        select(Membership)
        .join(User, Membership.user_id == User.id)
        .where(Membership.customer_account_id == account.id, _is_active_admin())
        .order_by(Membership.id)
    )
    if for_update:
        query = query.with_for_update(of=Membership).execution_options(populate_existing=True)
    return list(db.session.scalars(query))


def active_admins(account: CustomerAccount) -> list[User]:
    """The customer account's active administrators, by email."""
    return list(
        db.session.scalars(
            select(User)
            .join(Membership, Membership.user_id == User.id)
            .where(Membership.customer_account_id == account.id, _is_active_admin())
            .order_by(User.email)
        )
    )


def has_active_admin(account: CustomerAccount) -> bool:
    admins = (
        select(Membership.id)
        .join(User, Membership.user_id == User.id)
        .where(Membership.customer_account_id == account.id, _is_active_admin())
    )
    return bool(db.session.scalar(select(admins.exists())))


def drop_memberships(user: User) -> None:
    """An erased account leaves its customer accounts, with its open admin
    requests (the rows go explicitly: SQLite does not enforce the cascade)."""
    ids = list(db.session.scalars(select(Membership.id).where(Membership.user_id == user.id)))
    if not ids:
        return
    db.session.execute(delete(AdminRequest).where(AdminRequest.membership_id.in_(ids)))
    db.session.execute(delete(Membership).where(Membership.id.in_(ids)))


# -- memberships and claims ---------------------------------------------------------
def membership_in(user: User, account: CustomerAccount) -> Membership | None:
    return db.session.scalar(
        select(Membership).where(
            Membership.user_id == user.id, Membership.customer_account_id == account.id
        )
    )


def memberships_of(user: User) -> list[Membership]:
    return list(
        db.session.scalars(
            select(Membership)
            .join(CustomerAccount, Membership.customer_account_id == CustomerAccount.id)
            .where(Membership.user_id == user.id)
            .order_by(CustomerAccount.customer_number)
        )
    )


def choose_membership(user: User, customer_number: str | None) -> Membership | None:
    """The membership a token carries: the hinted one if the user has it, else
    the only usable membership, else the only active one; None when that is
    ambiguous (the user must pick). A locked membership is never chosen, and a hint
    naming one yields None, never a different membership in its place (the
    authorization endpoint shows it as locked). A hint naming an account the user
    does not belong to is no hint."""
    memberships = memberships_of(user)
    hinted = hinted_membership(memberships, customer_number)
    if hinted is not None:
        return hinted if hinted.status != MembershipStatus.LOCKED else None
    usable = [m for m in memberships if m.status != MembershipStatus.LOCKED]
    if len(usable) == 1:
        return usable[0]
    active = [m for m in usable if m.status == MembershipStatus.ACTIVE]
    return active[0] if len(active) == 1 else None


def hinted_membership(
    memberships: Iterable[Membership], customer_number: str | None
) -> Membership | None:
    """The one of ``memberships`` in the customer account ``customer_number``, locked or not."""
    if not customer_number:
        return None
    return next(
        (m for m in memberships if m.customer_account.customer_number == customer_number), None
    )


def customer_claims(membership: Membership) -> dict[str, Any]:
    """The ``customer`` scope's claims (the contract in the README)."""
    account = membership.customer_account
    return {
        "customer_number": account.customer_number,
        "customer_name": account.name,
        "role": membership.role,
        "permissions": sorted(membership.permissions or []),
        "membership_status": membership.status,
    }
