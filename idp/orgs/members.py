"""What an administrator does with the users of a customer account (manual,
chapter 3): list and search them, set permissions, activate, lock, unlock,
remove, and read a user's change log.

Every function expects the caller to have checked, with
``administered_account``, that the acting user administers the account; the
membership functions check the rules that depend on who is acting. Services
flush, never commit; every change records an audit event filed under the
customer account, which is what the change log reads."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from flask_babel import gettext as _
from sqlalchemy import String, and_, cast, delete, false, func, or_, select
from sqlalchemy.orm import aliased, contains_eager
from sqlalchemy.sql import ColumnElement

from idp.audit import EventTag, record_event
from idp.errors import Conflict, Forbidden, InvalidPermissions, NotFound
from idp.oidc.backchannel import sign_out_everywhere
from idp.orgs.changelog import CATEGORIES, describe, label_of
from idp.orgs.permissions import CATALOGUE, CODES
from idp.orgs.service import active_admin_memberships, find_customer, membership_in
from idp.profile import erase_account
from idp.store import (
    AdminRequest,
    AuditEvent,
    CustomerAccount,
    Membership,
    MembershipRole,
    MembershipStatus,
    User,
    UserStatus,
    db,
)

T = TypeVar("T")
PER_PAGE_CHOICES = (10, 25, 50, 100)
MAX_SEARCH = 100


@dataclass
class Page(Generic[T]):
    items: list[T]
    total: int
    page: int
    per_page: int


@dataclass
class LogEntry:
    """One line of the change log ("Änderungsprotokoll")."""

    at: dt.datetime
    tag: str
    category: str
    details: str
    actor_name: str


# -- who administers what ----------------------------------------------------------
def administered_account(user: User, customer_number: str) -> CustomerAccount:
    """The customer account ``user`` administers. Other tenants' accounts look
    like no account at all (NotFound); a member who is no active administrator
    gets Forbidden."""
    account = find_customer(customer_number) if customer_number.isdigit() else None
    membership = membership_in(user, account) if account is not None else None
    if account is None or membership is None:
        raise NotFound(_("Kundenkonto nicht gefunden."))
    if not is_active_admin(membership):
        raise Forbidden(_("Nur Administratoren dieses Kundenkontos dürfen das."))
    return account


def is_active_admin(membership: Membership) -> bool:
    return membership.role == MembershipRole.ADMIN and membership.status == MembershipStatus.ACTIVE


def _acting_admins(membership: Membership, actor: User) -> list[Membership]:
    """Checked again in every change (STYLE: at the route and in the service):
    the actor administers the membership's account. The administrators' rows
    are locked first, so two administrators acting on each other at once are
    serialised and the second sees the first's change."""
    admins = active_admin_memberships(_account(membership), for_update=True)
    if actor.id not in {m.user_id for m in admins}:
        raise Forbidden(_("Nur Administratoren dieses Kundenkontos dürfen das."))
    return admins


# -- listing -----------------------------------------------------------------------
def list_members(
    account: CustomerAccount, *, search: str = "", page: int = 1, per_page: int = 10
) -> Page[Membership]:
    """Members by family and given name; ``search`` matches name and email."""
    _check_paging(page, per_page)
    query = (
        select(Membership)
        .join(User, Membership.user_id == User.id)
        .where(Membership.customer_account_id == account.id, User.status != UserStatus.DELETED)
    )
    if search.strip():
        pattern = _like(search)
        query = query.where(
            or_(
                func.lower(User.email).like(pattern, escape="\\"),
                func.lower(User.given_name).like(pattern, escape="\\"),
                func.lower(User.family_name).like(pattern, escape="\\"),
                func.lower(
                    func.coalesce(User.given_name, "") + " " + func.coalesce(User.family_name, "")
                ).like(pattern, escape="\\"),
            )
        )
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    items = db.session.scalars(
        query.options(contains_eager(Membership.user))  # the users come with the page
        .order_by(
            func.lower(func.coalesce(User.family_name, "")),
            func.lower(func.coalesce(User.given_name, "")),
            User.email,
        )
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    return Page(list(items), total, page, per_page)


def find_member(account: CustomerAccount, sub: str) -> Membership:
    """The membership of the user with ``sub`` in ``account``; users of other
    accounts are not found."""
    membership = db.session.scalar(
        select(Membership)
        .join(User, Membership.user_id == User.id)
        .where(
            Membership.customer_account_id == account.id,
            User.sub == sub,
            User.status != UserStatus.DELETED,
        )
    )
    if membership is None:
        raise NotFound(_("Benutzer nicht gefunden."))
    return membership


def user_of(membership: Membership) -> User:
    return membership.user


# -- changes -----------------------------------------------------------------------
def set_permissions(membership: Membership, codes: Iterable[str], *, actor: User) -> None:
    """Save the permission set as a whole (manual 3.3: "Speichern")."""
    _acting_admins(membership, actor)
    wanted = sorted(set(codes))
    unknown = [code for code in wanted if code not in CODES]
    if unknown:
        raise InvalidPermissions(unknown)
    before = sorted(membership.permissions or [])
    if wanted == before:
        return
    membership.permissions = wanted
    _record(
        EventTag.MEMBERSHIP_PERMISSIONS_CHANGED,
        membership,
        actor,
        added=[c for c in wanted if c not in before],
        removed=[c for c in before if c not in wanted],
    )


def activate(membership: Membership, *, actor: User) -> None:
    """A pending member becomes active (manual 3.1: once there is an
    administrator, only they activate new accounts)."""
    _acting_admins(membership, actor)
    if membership.status != MembershipStatus.PENDING:
        raise Conflict(_("Dieser Benutzer wartet nicht auf Freischaltung."))
    membership.status = MembershipStatus.ACTIVE
    _record(EventTag.MEMBERSHIP_ACTIVATED, membership, actor)


def lock(membership: Membership, *, actor: User) -> None:
    """A locked member cannot log in to this customer account. Going beyond the
    manual (where a lock waits for the next logout), the user's sessions end and
    their tokens are revoked at once, and relying parties hear of it through
    back-channel logout. A pending member is activated or removed, not locked."""
    _acting_admins(membership, actor)
    _not_self(membership, actor, _("Sie können sich nicht selbst sperren."))
    if membership.status == MembershipStatus.LOCKED:
        raise Conflict(_("Dieser Benutzer ist bereits gesperrt."))
    if membership.status == MembershipStatus.PENDING:
        raise Conflict(
            _("Dieser Benutzer wartet auf Freischaltung: bitte freischalten oder löschen.")
        )
    membership.status = MembershipStatus.LOCKED
    _record(EventTag.MEMBERSHIP_LOCKED, membership, actor)
    sign_out_everywhere(user_of(membership))


def unlock(membership: Membership, *, actor: User) -> None:
    _acting_admins(membership, actor)
    if membership.status != MembershipStatus.LOCKED:
        raise Conflict(_("Dieser Benutzer ist nicht gesperrt."))
    membership.status = MembershipStatus.ACTIVE
    _record(EventTag.MEMBERSHIP_UNLOCKED, membership, actor)


def remove(membership: Membership, *, actor: User) -> None:
    """ "Benutzer löschen": the membership goes; the user's account goes too when
    this was their only membership (manual 3.5: an employee who left), unless
    they are an operator, whose account is not the customer's to delete."""
    _acting_admins(membership, actor)
    _not_self(membership, actor, _("Sie können sich nicht selbst löschen."))
    user = user_of(membership)
    _record(EventTag.MEMBERSHIP_DELETED, membership, actor)
    # explicitly: SQLite does not enforce the cascade to the requests
    db.session.execute(delete(AdminRequest).where(AdminRequest.membership_id == membership.id))
    db.session.delete(membership)
    db.session.flush()
    others = db.session.scalar(
        select(func.count()).select_from(Membership).where(Membership.user_id == user.id)
    )
    if others or user.is_operator:
        sign_out_everywhere(user)
        return
    erase_account(user, actor=actor)


def resign(membership: Membership, *, actor: User) -> None:
    """An administrator gives up their rights; the last one cannot, or nobody
    could administer the account any more."""
    admins = _acting_admins(membership, actor)
    if membership.user_id != actor.id:
        raise Forbidden(_("Nur Sie selbst können Ihre Administratorrechte abgeben."))
    others = [m for m in admins if m.id != membership.id]
    if not others:
        raise Conflict(
            _(
                "Sie sind der einzige Administrator dieses Kundenkontos und können Ihre "
                "Rechte nicht abgeben."
            )
        )
    membership.role = MembershipRole.EMPLOYEE
    _record(EventTag.MEMBERSHIP_ROLE_CHANGED, membership, actor, role=str(MembershipRole.EMPLOYEE))


def _not_self(membership: Membership, actor: User, message: str) -> None:
    if membership.user_id == actor.id:
        raise Conflict(message)


def _account(membership: Membership) -> CustomerAccount:
    return membership.customer_account


def _record(tag: EventTag, membership: Membership, actor: User, **details: Any) -> None:
    account = _account(membership)
    record_event(
        tag,
        user=user_of(membership),
        actor=actor,
        account=account,
        customer_number=account.customer_number,
        **details,
    )
    db.session.flush()


# -- change log --------------------------------------------------------------------
def change_log(
    membership: Membership, *, search: str = "", page: int = 1, per_page: int = 10
) -> Page[LogEntry]:
    """The user's change log as this customer account's administrators see it:
    events filed under this account, the user's own account-wide changes
    (sign-ins, password, MFA, profile) and the invitation that brought them.
    Newest first."""
    _check_paging(page, per_page)
    user = user_of(membership)
    actor = aliased(User)
    query = (
        select(AuditEvent, actor)
        .outerjoin(actor, AuditEvent.actor_id == actor.id)
        .where(AuditEvent.tag.in_(CATEGORIES), _belongs_to(membership, user))
    )
    if search.strip():
        query = query.where(_matches(search, actor))
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = db.session.execute(
        query.order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    entries = [
        LogEntry(
            at=event.created_at,
            tag=event.tag,
            category=label_of(event.tag),
            details=describe(event.tag, event.details or {}, event.client_id),
            actor_name=_display_name(who),
        )
        for event, who in rows
    ]
    return Page(entries, total, page, per_page)


def _belongs_to(membership: Membership, user: User) -> ColumnElement[bool]:
    own = and_(
        AuditEvent.user_id == user.id,
        or_(
            AuditEvent.customer_account_id == membership.customer_account_id,
            AuditEvent.customer_account_id.is_(None),
        ),
    )
    invited = and_(
        AuditEvent.customer_account_id == membership.customer_account_id,
        AuditEvent.tag == str(EventTag.INVITATION_SENT),
        AuditEvent.details["email"].as_string() == user.email,
    )
    return or_(own, invited)


def _matches(search: str, actor: type[User]) -> ColumnElement[bool]:
    pattern = _like(search)
    tags = [tag for tag in CATEGORIES if search.strip().lower() in label_of(tag).lower()]
    actor_name = func.lower(
        func.coalesce(actor.given_name, "") + " " + func.coalesce(actor.family_name, "")
    )
    details = func.lower(cast(AuditEvent.details, String))
    # details hold permission codes; an administrator searches by their labels
    codes = [p.code for p in CATALOGUE if search.strip().lower() in str(p.label).lower()]
    return or_(
        AuditEvent.tag.in_(tags) if tags else false(),
        details.like(pattern, escape="\\"),
        *(details.like(f'%"{code}"%') for code in codes),
        actor_name.like(pattern, escape="\\"),
    )


def _display_name(user: User | None) -> str:
    if user is None:
        return "System"
    name = " ".join(part for part in (user.given_name, user.family_name) if part)
    return name or user.email


def _check_paging(page: int, per_page: int) -> None:
    if per_page not in PER_PAGE_CHOICES or page < 1:
        raise ValueError("page must be >= 1 and per_page one of 10, 25, 50, 100")


def _like(search: str) -> str:
    text = search.strip().lower()[:MAX_SEARCH]
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
