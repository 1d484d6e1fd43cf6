"""Admin requests: consent of an existing administrator, then the operator decides."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import OperationalError

from idp import accounts
from idp.errors import ChangeRejected, Conflict, Forbidden, NotFound
from idp.mail import outbox
from idp.orgs import admin_requests, service
from idp.store import AuditEvent, CustomerAccount, Membership, User, db

CUSTOMERS = [
    {"customer_number": "447712782", "name": "Bäckerei Schmidt GmbH", "country": "DE",
     "product_line": "sage50"},
    {"customer_number": "261973069", "name": "Müller & Söhne KG", "country": "DE",
     "product_line": "sage100"},
]  # fmt: skip


@pytest.fixture
def customers(app):
    assert not service.import_customers(CUSTOMERS).errors
    db.session.commit()


def person(email: str, given_name: str = "Bernd") -> accounts.User:
    user = accounts.create_user(
        email, "Korrekt-Pferd-Batterie-2", given_name=given_name, email_verified=True
    )
    db.session.commit()
    return user


def member_of(user, number: str = "447712782", *, role: str = "employee") -> Membership:
    membership = service.join_by_customer_number(user, number)
    membership.role, membership.status = role, "active"
    db.session.commit()
    return membership


@pytest.fixture
def member(user, customers) -> Membership:
    return member_of(user)


@pytest.fixture
def admin(customers):
    user = person("chef@example.de", "Clara")
    member_of(user, role="admin")
    return user


def events(tag: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.tag == tag)))


def test_request_without_an_admin_goes_straight_to_the_operator(member, mailbox):
    request = admin_requests.request_admin(member, reason="Ich bin Geschäftsführerin.")
    db.session.commit()
    assert request.status == "pending" and request.reason == "Ich bin Geschäftsführerin."
    assert admin_requests.pending_requests() == [request]
    [event] = events("admin.requested")
    assert event.customer_account_id == member.customer_account_id
    assert event.user_id == event.actor_id == member.user_id


def test_request_with_an_admin_waits_for_consent_and_asks_the_admin(member, admin, mailbox):
    request = admin_requests.request_admin(member, reason=None)
    db.session.commit()
    assert request.status == "awaiting_consent" and request.reason is None
    assert admin_requests.pending_requests() == []
    account = member.customer_account
    assert admin_requests.awaiting_consent(account, admin) == [request]
    outbox.deliver_due()
    mail = mailbox.last(admin.email)
    assert mail["Subject"] == "Ihre Zustimmung: Anna Schmidt beantragt Admin-Rechte"
    assert mailbox.link(admin.email) == (
        "http://localhost/customer/admin-requests?customer_number=447712782"
    )


def test_consent_hands_the_request_to_the_operator(member, admin):
    request = admin_requests.request_admin(member, reason=None)
    admin_requests.consent(request.id, member.customer_account, actor=admin)
    db.session.commit()
    assert request.status == "pending" and request.consented_by_id == admin.id
    assert admin_requests.pending_requests() == [request]
    assert admin_requests.awaiting_consent(member.customer_account, admin) == []
    [event] = events("admin.request_consented")
    assert event.actor_id == admin.id and event.user_id == member.user_id


def test_declined_consent_rejects_the_request(member, admin):
    request = admin_requests.request_admin(member, reason=None)
    admin_requests.decline_consent(request.id, member.customer_account, actor=admin)
    assert request.status == "rejected" and request.decided_by == admin.email
    assert admin_requests.pending_requests() == []
    with pytest.raises(Conflict):
        admin_requests.consent(request.id, member.customer_account, actor=admin)


def test_only_active_admins_of_that_account_may_consent(member, admin, user):
    request = admin_requests.request_admin(member, reason=None)
    account = member.customer_account
    for stranger in (user, person("dora@example.de")):
        with pytest.raises(Forbidden):
            admin_requests.consent(request.id, account, actor=stranger)
        with pytest.raises(Forbidden):
            admin_requests.awaiting_consent(account, stranger)
    other_admin = person("otto@example.de")
    member_of(other_admin, "261973069", role="admin")
    other_account = service.find_customer("261973069")
    with pytest.raises(NotFound):  # another tenant's request does not exist for them
        admin_requests.consent(request.id, other_account, actor=other_admin)
    with pytest.raises(NotFound):
        admin_requests.consent(999999, account, actor=admin)
    assert request.status == "awaiting_consent"


def test_approve_makes_the_member_an_active_admin(member, mailbox):
    request = admin_requests.request_admin(member, reason=None)
    admin_requests.approve(request.id, operator="ops@example.com", note="Geprüft")
    db.session.commit()
    assert (member.role, member.status) == ("admin", "active")
    assert (request.status, request.decided_by, request.decision_note) == (
        "approved",
        "ops@example.com",
        "Geprüft",
    )
    assert service.has_active_admin(member.customer_account)
    [changed] = events("membership.role_changed")
    assert changed.details["new"] == "admin" and changed.details["old"] == "employee"
    assert changed.customer_account_id == member.customer_account_id
    assert len(events("admin.request_approved")) == 1
    outbox.deliver_due()
    mail = mailbox.last("anna.schmidt@example.de")
    assert mail["Subject"] == "Sie sind jetzt Administrator von Bäckerei Schmidt GmbH"
    assert "Anmerkung: Geprüft" in mailbox.text(mail)


def test_reject_keeps_the_member_an_employee(member):
    request = admin_requests.request_admin(member, reason=None)
    admin_requests.reject(request.id, operator="cli", note="Bitte Vollmacht senden")
    assert (member.role, request.status, request.decision_note) == (
        "employee",
        "rejected",
        "Bitte Vollmacht senden",
    )
    with pytest.raises(Conflict):
        admin_requests.approve(request.id, operator="cli")
    assert events("admin.request_rejected")[0].details["stage"] == "operator"


def test_operator_cannot_decide_before_the_admin_consented(member, admin):
    request = admin_requests.request_admin(member, reason=None)
    for decide in (admin_requests.approve, admin_requests.reject):
        with pytest.raises(Conflict):
            decide(request.id, operator="cli")
    with pytest.raises(NotFound):
        admin_requests.approve(424242, operator="cli")


def test_one_open_request_per_membership(member):
    first = admin_requests.request_admin(member, reason=None)
    with pytest.raises(Conflict, match="bereits Admin-Rechte beantragt"):
        admin_requests.request_admin(member, reason=None)
    admin_requests.reject(first.id, operator="cli")
    assert admin_requests.request_admin(member, reason=None).status == "pending"


def test_only_active_employees_may_apply(member, admin):
    member.status = "pending"
    with pytest.raises(Conflict, match="nicht aktiv"):
        admin_requests.request_admin(member, reason=None)
    [admin_membership] = service.memberships_of(admin)
    with pytest.raises(Conflict, match="bereits Administrator"):
        admin_requests.request_admin(admin_membership, reason=None)
    assert events("admin.requested") == []


def test_overlong_reason_and_note_are_refused(member):
    with pytest.raises(ChangeRejected) as refused:
        admin_requests.request_admin(member, reason="x" * 2001)
    assert "reason" in refused.value.errors
    request = admin_requests.request_admin(member, reason="  ")
    assert request.reason is None
    with pytest.raises(ChangeRejected):
        admin_requests.approve(request.id, operator="cli", note="x" * 2001)
    assert member.role == "employee"


def test_a_locked_member_is_not_approved(member):
    request = admin_requests.request_admin(member, reason=None)
    member.status = "locked"
    with pytest.raises(Conflict, match="gesperrt"):
        admin_requests.approve(request.id, operator="cli")
    assert member.role == "employee" and request.status == "pending"


# -- decisions running at the same time ---------------------------------------------------
@contextmanager
def concurrently(web) -> Iterator[None]:
    """A second transaction at the same time: its own app context, session and
    connection (``db.session`` is scoped to the app context)."""
    with web.app_context():
        try:
            yield
        finally:
            db.session.rollback()


def test_a_second_request_waits_for_the_first(member, web):
    """Two submissions at once: the first holds the membership's row lock until it
    commits, so the second cannot slip past the check for an open request."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no row locks (and allows one writer at a time)")
    admin_requests.request_admin(member, reason=None)  # not committed yet
    with concurrently(web):
        db.session.execute(text("SET LOCAL lock_timeout = '300ms'"))
        twin = db.session.get(Membership, member.id)
        with pytest.raises(OperationalError, match="lock"):
            admin_requests.request_admin(twin, reason=None)
    db.session.commit()
    assert len(events("admin.requested")) == 1


@pytest.mark.parametrize("second", ["approve", "reject"])
def test_a_decision_read_before_another_commit_is_refused(member, web, second):
    """Two operators (or the page and the command line) decide at once: the second
    read the request while it was pending; deciding reads it again under a row
    lock and refuses instead of deciding (and mailing) a second time."""
    request_id = admin_requests.request_admin(member, reason=None).id
    db.session.commit()
    with concurrently(web):
        read = admin_requests.pending_requests()  # held, as a request handler would
        assert [r.id for r in read] == [request_id]
        with concurrently(web):
            admin_requests.approve(request_id, operator="ops@example.com")
            db.session.commit()
        with pytest.raises(Conflict, match="wartet nicht"):
            getattr(admin_requests, second)(request_id, operator="cli")
    db.session.expire_all()
    assert len(events("admin.request_approved")) == 1
    assert events("admin.request_rejected") == []
    assert len(events("membership.role_changed")) == 1


@pytest.mark.parametrize("second", ["consent", "decline_consent"])
def test_a_consent_read_before_another_commit_is_refused(member, admin, web, second):
    request_id = admin_requests.request_admin(member, reason=None).id
    db.session.commit()
    account_id, admin_id = member.customer_account_id, admin.id

    def as_admin() -> tuple[CustomerAccount, User]:
        return db.session.get(CustomerAccount, account_id), db.session.get(User, admin_id)

    with concurrently(web):
        account, actor = as_admin()
        read = admin_requests.awaiting_consent(account, actor)  # held, as a handler would
        assert [r.id for r in read] == [request_id]
        with concurrently(web):
            first_account, first_actor = as_admin()
            admin_requests.consent(request_id, first_account, actor=first_actor)
            db.session.commit()
        with pytest.raises(Conflict, match="bereits entschieden"):
            getattr(admin_requests, second)(request_id, account, actor=actor)
    db.session.expire_all()
    assert len(events("admin.request_consented")) == 1
    assert events("admin.request_rejected") == []


# -- deleted accounts ---------------------------------------------------------------------
def test_a_deleted_admin_is_not_asked_for_consent(member, admin, mailbox):
    admin.status = "deleted"
    db.session.commit()
    request = admin_requests.request_admin(member, reason=None)
    db.session.commit()
    outbox.deliver_due()
    assert request.status == "pending" and mailbox.messages == []


def test_requests_of_a_deleted_account_are_neither_listed_nor_decided(member, admin, user):
    """Erasure takes open requests along; a request left over is skipped anyway."""
    request = admin_requests.request_admin(member, reason=None)
    db.session.commit()
    account = member.customer_account
    user.status = "deleted"
    db.session.commit()
    assert admin_requests.awaiting_consent(account, admin) == []
    with pytest.raises(NotFound):
        admin_requests.consent(request.id, account, actor=admin)
    user.status = "active"
    admin_requests.consent(request.id, account, actor=admin)
    user.status = "deleted"
    db.session.commit()
    assert admin_requests.pending_requests() == []
    for decide in (admin_requests.approve, admin_requests.reject):
        with pytest.raises(NotFound):
            decide(request.id, operator="cli")
    assert request.status == "pending" and member.role == "employee"
