"""Admin requests ("Admin-Rechte beantragen"): a member applies for administrator
rights; where the customer account already has an administrator, one of them must
consent first; then the operator (Sage) approves or rejects.

    request_admin ──> awaiting_consent ──consent──> pending ──approve──> approved
                  │                    └─decline──> rejected    └─reject──> rejected
                  └─(no administrator yet)────────> pending

Services flush, never commit; every change records an audit event filed under
the customer account."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import Select, select

from idp.audit import EventTag, record_event
from idp.errors import ChangeRejected, Conflict, Forbidden, NotFound
from idp.mail import orgs as mail
from idp.orgs import service
from idp.store import (
    AdminRequest,
    AdminRequestStatus,
    CustomerAccount,
    Membership,
    MembershipRole,
    MembershipStatus,
    User,
    UserStatus,
    db,
    utcnow,
)

MAX_REASON_LENGTH = 2000
MAX_NOTE_LENGTH = 2000
OPEN = (AdminRequestStatus.AWAITING_CONSENT, AdminRequestStatus.PENDING)


# -- members ----------------------------------------------------------------------
def request_admin(membership: Membership, *, reason: str | None) -> AdminRequest:
    """Apply for administrator rights. Only active employees may; one open request
    per membership. The existing administrators are asked for consent by mail.

    The membership row is locked first, so two submissions at once (a double
    click, two tabs) are decided one after the other: the second finds the
    first's request and is refused."""
    membership = _lock_membership(membership)
    if membership.role == MembershipRole.ADMIN:
        raise Conflict(_("Sie sind bereits Administrator dieses Kundenkontos."))
    if membership.status != MembershipStatus.ACTIVE:
        raise Conflict(_("Ihr Zugang zu diesem Kundenkonto ist nicht aktiv."))
    if open_request(membership) is not None:
        raise Conflict(_("Sie haben bereits Admin-Rechte beantragt."))
    reason = _text(reason, MAX_REASON_LENGTH, "reason")
    account = membership.customer_account
    admins = service.active_admins(account)
    status = AdminRequestStatus.AWAITING_CONSENT if admins else AdminRequestStatus.PENDING
    request = AdminRequest(membership_id=membership.id, status=status, reason=reason)
    request.membership = membership
    db.session.add(request)
    db.session.flush()
    requester = _user(membership)
    record_event(
        EventTag.ADMIN_REQUESTED,
        user=requester,
        actor=requester,
        account=account,
        request_id=request.id,
        status=str(status),
    )
    for admin in admins:
        mail.send_admin_request_consent(admin, requester, account, reason)
    db.session.flush()
    return request


def open_request(membership: Membership) -> AdminRequest | None:
    """The membership's request that still waits for consent or the operator."""
    return db.session.scalar(
        select(AdminRequest).where(
            AdminRequest.membership_id == membership.id, AdminRequest.status.in_(OPEN)
        )
    )


# -- administrators of the customer account -----------------------------------------
def awaiting_consent(account: CustomerAccount, admin: User) -> list[AdminRequest]:
    """Requests in ``account`` that wait for an administrator's consent; only its
    active administrators may see them (Forbidden otherwise)."""
    _require_admin(account, admin)
    return list(
        db.session.scalars(
            _with_live_requester(select(AdminRequest))
            .where(
                Membership.customer_account_id == account.id,
                AdminRequest.status == AdminRequestStatus.AWAITING_CONSENT,
            )
            .order_by(AdminRequest.created_at, AdminRequest.id)
        )
    )


def consent(request_id: int, account: CustomerAccount, *, actor: User) -> AdminRequest:
    """An administrator agrees; the request goes on to the operator."""
    request = _awaiting(request_id, account, actor)
    request.status = AdminRequestStatus.PENDING
    request.consented_by_id = actor.id
    request.consented_at = utcnow()
    record_event(
        EventTag.ADMIN_REQUEST_CONSENTED,
        user=_user(request.membership),
        actor=actor,
        account=account,
        request_id=request.id,
    )
    db.session.flush()
    return request


def decline_consent(request_id: int, account: CustomerAccount, *, actor: User) -> AdminRequest:
    """An administrator refuses; the request ends here and the requester is told."""
    request = _awaiting(request_id, account, actor)
    _decide(request, AdminRequestStatus.REJECTED, by=actor.email, note=None)
    requester = _user(request.membership)
    record_event(
        EventTag.ADMIN_REQUEST_REJECTED,
        user=requester,
        actor=actor,
        account=account,
        request_id=request.id,
        stage="consent",
    )
    mail.send_admin_request_decided(requester, account, approved=False, note=None)
    db.session.flush()
    return request


def _awaiting(request_id: int, account: CustomerAccount, actor: User) -> AdminRequest:
    _require_admin(account, actor)
    request = _find(request_id, lock=True)
    if request.membership.customer_account_id != account.id:
        raise NotFound(_("Diesen Antrag gibt es nicht."))
    if request.status != AdminRequestStatus.AWAITING_CONSENT:
        raise Conflict(_("Über diesen Antrag wurde bereits entschieden."))
    return request


# -- the operator -------------------------------------------------------------------
def pending_requests() -> list[AdminRequest]:
    """What the operator decides on: consented (or needing no consent), oldest first."""
    return list(
        db.session.scalars(
            _with_live_requester(select(AdminRequest))
            .where(AdminRequest.status == AdminRequestStatus.PENDING)
            .order_by(AdminRequest.created_at, AdminRequest.id)
        )
    )


def approve(request_id: int, *, operator: str, note: str | None = None) -> AdminRequest:
    """The requester becomes an active administrator of the customer account."""
    # Locks in the order a deleted membership takes them: membership, then request.
    membership = _lock_membership(_find(request_id).membership)
    request = _pending(request_id)
    note = _text(note, MAX_NOTE_LENGTH, "note")
    if membership.status == MembershipStatus.LOCKED:
        raise Conflict(_("Der Zugang des Antragstellers ist gesperrt."))
    _decide(request, AdminRequestStatus.APPROVED, by=operator, note=note)
    previous = str(membership.role)
    membership.role = MembershipRole.ADMIN
    membership.status = MembershipStatus.ACTIVE
    requester, account = _user(membership), membership.customer_account
    record_event(
        EventTag.ADMIN_REQUEST_APPROVED,
        user=requester,
        account=account,
        request_id=request.id,
        operator=operator,
    )
    record_event(
        EventTag.MEMBERSHIP_ROLE_CHANGED,
        user=requester,
        account=account,
        old=previous,
        new=str(MembershipRole.ADMIN),
        operator=operator,
    )
    mail.send_admin_request_decided(requester, account, approved=True, note=note)
    db.session.flush()
    return request


def reject(request_id: int, *, operator: str, note: str | None = None) -> AdminRequest:
    request = _pending(request_id)
    note = _text(note, MAX_NOTE_LENGTH, "note")
    _decide(request, AdminRequestStatus.REJECTED, by=operator, note=note)
    requester, account = _user(request.membership), request.membership.customer_account
    record_event(
        EventTag.ADMIN_REQUEST_REJECTED,
        user=requester,
        account=account,
        request_id=request.id,
        operator=operator,
        stage="operator",
    )
    mail.send_admin_request_decided(requester, account, approved=False, note=note)
    db.session.flush()
    return request


def _pending(request_id: int) -> AdminRequest:
    request = _find(request_id, lock=True)
    if request.status != AdminRequestStatus.PENDING:
        raise Conflict(_("Dieser Antrag wartet nicht auf eine Entscheidung."))
    return request


def _decide(
    request: AdminRequest, status: AdminRequestStatus, *, by: str, note: str | None
) -> None:
    request.status = status
    request.decided_by = by[:320]
    request.decided_at = utcnow()
    request.decision_note = note


# -- helpers ------------------------------------------------------------------------
def requester_of(request: AdminRequest) -> User:
    return _user(request.membership)


def consenter_of(request: AdminRequest) -> User | None:
    """The administrator who agreed, if one had to (and still exists)."""
    if request.consented_by_id is None:
        return None
    return db.session.get(User, request.consented_by_id)


def _require_admin(account: CustomerAccount, user: User) -> None:
    if user.id not in {admin.id for admin in service.active_admins(account)}:
        raise Forbidden(_("Nur Administratoren des Kundenkontos dürfen das."))


def _find(request_id: int, *, lock: bool = False) -> AdminRequest:
    """The request; with ``lock`` its row is locked for this transaction and read
    afresh, so a decision running at the same time (a double click, two
    administrators, the page and the command line) waits and then sees the
    outcome instead of deciding a second time. (SQLite ignores the lock; it
    allows one writer at a time anyway.)"""
    # Ids beyond a 32-bit integer exist nowhere (and overflow SQLite's driver).
    if not 0 < request_id < 2**31:
        raise NotFound(_("Diesen Antrag gibt es nicht."))
    query = _with_live_requester(select(AdminRequest)).where(AdminRequest.id == request_id)
    if lock:
        query = query.with_for_update(of=AdminRequest).execution_options(populate_existing=True)
    request = db.session.scalar(query)
    if request is None:
        raise NotFound(_("Diesen Antrag gibt es nicht."))
    return request


def _with_live_requester(query: Select[AdminRequest]) -> Select[AdminRequest]:
    """Requests of deleted accounts are nobody's business any more. (Erasure
    takes the memberships and their requests along; this also holds for rows
    left from before that.)"""
    return (
        query.join(Membership, AdminRequest.membership_id == Membership.id)
        .join(User, Membership.user_id == User.id)
        .where(User.status != UserStatus.DELETED)
    )


def _lock_membership(membership: Membership) -> Membership:
    """Lock the membership's row for this transaction and read it afresh."""
    locked = db.session.scalar(
        select(Membership)
        .where(Membership.id == membership.id)
        .with_for_update(of=Membership)
        .execution_options(populate_existing=True)
    )
    if locked is None:
        raise NotFound(_("Diesen Zugang gibt es nicht mehr."))
    return locked


def _user(membership: Membership) -> User:
    user = db.session.get(User, membership.user_id)
    assert user is not None  # memberships are deleted with their user
    return user


def _text(value: str | None, limit: int, field: str) -> str | None:
    value = (value or "").strip()
    if len(value) > limit:
        raise ChangeRejected({field: _("Bitte geben Sie höchstens %(n)d Zeichen ein.", n=limit)})
    return value or None
