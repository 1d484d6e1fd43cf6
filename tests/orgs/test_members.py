"""Administrator services: listing, permissions, activation, lock, removal,
resigning and the change log, with the rules that depend on who acts."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select

from idp import accounts
from idp.errors import Conflict, Forbidden, InvalidPermissions, NotFound
from idp.orgs import members, service
from idp.store import (
    BrowserSession,
    Membership,
    MembershipRole,
    MembershipStatus,
    Token,
    User,
    UserStatus,
    db,
    utcnow,
)

ACME = {
    "customer_number": "447712782",
    "name": "Bäckerei Schmidt GmbH",
    "country": "DE",
    "product_line": "sage50",
}
OTHER = {"customer_number": "261973069", "name": "Müller & Söhne KG", "country": "DE",
         "product_line": "sage100"}  # fmt: skip


def person(email: str, given: str = "Erika", family: str = "Muster") -> User:
    return accounts.create_user(
        email, "Korrekt-Pferd-Batterie-1", given_name=given, family_name=family,
        email_verified=True,
    )  # fmt: skip


def member(user: User, number: str, *, role: str = "employee", status: str = "active",
           permissions: list[str] | None = None) -> Membership:  # fmt: skip
    account = service.find_customer(number)
    assert account is not None
    membership = Membership(
        user_id=user.id, customer_account_id=account.id, customer_account=account,
        role=role, status=status, permissions=permissions or [],
    )  # fmt: skip
    db.session.add(membership)
    db.session.flush()
    return membership


@pytest.fixture
def company(app: Any) -> dict[str, Any]:
    service.import_customers([ACME, OTHER])
    admin = person("chefin@example.de", "Clara", "Chefin")
    worker = person("max@example.de", "Max", "Mustermann")
    outsider = person("olga@example.de", "Olga", "Anders")
    found = {
        "admin": admin,
        "worker": worker,
        "outsider": outsider,
        "admin_m": member(admin, ACME["customer_number"], role="admin"),
        "worker_m": member(worker, ACME["customer_number"]),
        "outsider_m": member(outsider, OTHER["customer_number"], role="admin"),
    }
    db.session.commit()
    return found


def test_administered_account_hides_other_tenants_and_refuses_employees(company: Any) -> None:
    assert members.administered_account(company["admin"], "447712782").name.startswith("Bäck")
    with pytest.raises(NotFound):
        members.administered_account(company["admin"], "261973069")
    with pytest.raises(NotFound):
        members.administered_account(company["admin"], "999999999")
    with pytest.raises(NotFound):
        members.administered_account(company["admin"], "../etc")
    with pytest.raises(Forbidden):
        members.administered_account(company["worker"], "447712782")


def test_locked_admin_administers_nothing(company: Any) -> None:
    company["admin_m"].status = MembershipStatus.LOCKED
    with pytest.raises(Forbidden):
        members.administered_account(company["admin"], "447712782")


def test_list_searches_pages_and_stays_in_its_account(company: Any) -> None:
    account = company["admin_m"].customer_account
    for n in range(11):
        member(person(f"kollege{n:02}@example.de", "Kollege", f"Nummer{n:02}"), "447712782")
    page = members.list_members(account, per_page=10)
    assert (page.total, len(page.items)) == (13, 10)
    second = members.list_members(account, page=2, per_page=10)
    assert len(second.items) == 3
    assert not {m.id for m in page.items} & {m.id for m in second.items}
    assert company["outsider_m"].id not in {m.id for m in page.items + second.items}
    found = members.list_members(account, search="MUSTERMANN")
    assert [m.user_id for m in found.items] == [company["worker"].id]
    assert members.list_members(account, search="max mustermann").total == 1
    assert members.list_members(account, search="olga").total == 0
    assert members.list_members(account, search="100%_").total == 0
    with pytest.raises(ValueError):
        members.list_members(account, per_page=7)


def test_find_member_does_not_find_other_tenants_users(company: Any) -> None:
    account = company["admin_m"].customer_account
    assert members.find_member(account, company["worker"].sub).id == company["worker_m"].id
    with pytest.raises(NotFound):
        members.find_member(account, company["outsider"].sub)


def test_permissions_are_saved_as_a_whole_and_logged(company: Any) -> None:
    worker_m = company["worker_m"]
    members.set_permissions(worker_m, ["documents", "licenses"], actor=company["admin"])
    members.set_permissions(worker_m, ["licenses", "shop"], actor=company["admin"])
    assert worker_m.permissions == ["licenses", "shop"]
    with pytest.raises(InvalidPermissions):
        members.set_permissions(worker_m, ["licenses", "root"], actor=company["admin"])
    assert worker_m.permissions == ["licenses", "shop"]
    log = members.change_log(worker_m)
    assert [e.category for e in log.items] == ["Berechtigungen geändert"] * 2 + [
        "Benutzer angelegt"
    ]
    assert "Erteilt: Sage Shop" in log.items[0].details
    assert "Entzogen: Meine Belege" in log.items[0].details
    assert log.items[0].actor_name == "Clara Chefin"


def test_activate_only_pending(company: Any) -> None:
    pending = member(person("neu@example.de"), "447712782", status="pending")
    members.activate(pending, actor=company["admin"])
    assert pending.status == MembershipStatus.ACTIVE
    with pytest.raises(Conflict):
        members.activate(pending, actor=company["admin"])


def test_lock_ends_sessions_and_revokes_tokens_unlock_restores(company: Any) -> None:
    worker = company["worker"]
    db.session.add(
        BrowserSession(
            id="h" * 64,
            sid="s" * 43,
            user_id=worker.id,
            data={},
            expires_at=utcnow() + dt.timedelta(hours=1),
        )  # fmt: skip
    )
    db.session.add(
        Token(
            client_id="c",
            user_id=worker.id,
            access_token_hash="a" * 64,
            refresh_token_hash="r" * 64,
            family_id="f",
            access_expires_at=utcnow() + dt.timedelta(hours=1),
        )  # fmt: skip
    )
    db.session.commit()
    members.lock(company["worker_m"], actor=company["admin"])
    db.session.commit()
    assert company["worker_m"].status == MembershipStatus.LOCKED
    assert (
        db.session.scalar(select(BrowserSession).where(BrowserSession.user_id == worker.id)) is None
    )
    token = db.session.scalar(select(Token).where(Token.user_id == worker.id))
    assert token is not None and token.revoked_at is not None
    with pytest.raises(Conflict):
        members.lock(company["worker_m"], actor=company["admin"])
    members.unlock(company["worker_m"], actor=company["admin"])
    assert company["worker_m"].status == MembershipStatus.ACTIVE
    categories = [e.category for e in members.change_log(company["worker_m"]).items]
    assert categories[:2] == ["Benutzer entsperrt", "Benutzer gesperrt"]


def test_admin_cannot_lock_or_remove_themselves(company: Any) -> None:
    with pytest.raises(Conflict):
        members.lock(company["admin_m"], actor=company["admin"])
    with pytest.raises(Conflict):
        members.remove(company["admin_m"], actor=company["admin"])


def test_last_admin_cannot_resign_but_one_of_two_can(company: Any) -> None:
    with pytest.raises(Conflict):
        members.resign(company["admin_m"], actor=company["admin"])
    company["worker_m"].role = MembershipRole.ADMIN
    members.resign(company["admin_m"], actor=company["admin"])
    assert company["admin_m"].role == MembershipRole.EMPLOYEE
    with pytest.raises(Forbidden):  # no administrator any more
        members.resign(company["admin_m"], actor=company["admin"])
    with pytest.raises(Conflict):
        members.resign(company["worker_m"], actor=company["worker"])


def test_remove_keeps_an_account_with_other_memberships(company: Any) -> None:
    worker = company["worker"]
    member(worker, "261973069")
    members.remove(company["worker_m"], actor=company["admin"])
    db.session.commit()
    assert worker.status == UserStatus.ACTIVE
    assert [m.customer_account.customer_number for m in service.memberships_of(worker)] == [
        "261973069"
    ]


def test_remove_of_the_only_membership_erases_the_account(company: Any, mailbox: Any) -> None:
    worker = company["worker"]
    members.remove(company["worker_m"], actor=company["admin"])
    db.session.commit()
    assert worker.status == UserStatus.DELETED
    assert worker.email.endswith("@invalid")
    with pytest.raises(NotFound):
        members.find_member(company["admin_m"].customer_account, worker.sub)


def test_change_log_shows_own_events_not_other_accounts(company: Any) -> None:
    worker = company["worker"]
    theirs = member(worker, "261973069")
    members.set_permissions(theirs, ["shop"], actor=company["outsider"])
    accounts.note_login(worker, client_id="portal")
    members.set_permissions(company["worker_m"], ["documents"], actor=company["admin"])
    db.session.commit()
    log = members.change_log(company["worker_m"])
    assert [e.category for e in log.items] == [
        "Berechtigungen geändert",
        "Anmeldung",
        "Benutzer angelegt",
    ]
    assert log.items[1].actor_name == "System"
    assert log.items[1].details == "Anwendung: portal"
    assert members.change_log(company["worker_m"], search="anmeld").total == 1
    assert members.change_log(company["worker_m"], search="Belege").total == 1
    assert members.change_log(company["worker_m"], search="clara").total == 1
    assert members.change_log(company["worker_m"], per_page=10, page=2).items == []


def test_only_an_administrator_of_the_account_may_change_it(company: Any) -> None:
    worker_m, admin_m = company["worker_m"], company["admin_m"]
    for change in (members.activate, members.lock, members.unlock, members.remove):
        with pytest.raises(Forbidden):
            change(admin_m, actor=company["worker"])
        with pytest.raises(Forbidden):
            change(worker_m, actor=company["outsider"])  # admin of another account
    with pytest.raises(Forbidden):
        members.set_permissions(worker_m, ["shop"], actor=company["outsider"])
    company["worker_m"].role = MembershipRole.ADMIN
    with pytest.raises(Forbidden):  # resigning is for oneself only
        members.resign(worker_m, actor=company["admin"])


def test_a_locked_administrator_can_no_longer_act(company: Any) -> None:
    second = member(person("zweite@example.de"), "447712782", role="admin")
    members.lock(second, actor=company["admin"])
    with pytest.raises(Forbidden):
        members.lock(company["admin_m"], actor=user_of(second))


def user_of(membership: Membership) -> User:
    return members.user_of(membership)


def test_a_pending_member_is_activated_or_removed_not_locked(company: Any) -> None:
    pending = member(person("neu@example.de"), "447712782", status="pending")
    with pytest.raises(Conflict):
        members.lock(pending, actor=company["admin"])


def test_an_erased_administrator_no_longer_counts(company: Any, mailbox: Any) -> None:
    from idp.profile import erase_account

    account = company["admin_m"].customer_account
    erase_account(company["admin"])
    db.session.commit()
    assert not service.has_active_admin(account)
    assert service.memberships_of(company["admin"]) == []
    newcomer = person("neu@example.de")
    assert service.join_by_customer_number(newcomer, "447712782").status == "active"


def test_removing_a_member_takes_their_open_admin_request_along(company: Any) -> None:
    from idp.orgs import admin_requests
    from idp.store import AdminRequest

    admin_requests.request_admin(company["worker_m"], reason="Vertretung")
    db.session.commit()
    members.remove(company["worker_m"], actor=company["admin"])
    db.session.commit()
    db.session.expire_all()
    assert db.session.scalars(select(AdminRequest)).all() == []
    assert admin_requests.pending_requests() == []


def test_an_operator_keeps_their_account_when_removed_from_their_only_customer(
    company: Any,
) -> None:
    company["worker"].is_operator = True
    members.remove(company["worker_m"], actor=company["admin"])
    db.session.commit()
    assert company["worker"].status == UserStatus.ACTIVE


def test_change_log_search_finds_umlauts_in_details(company: Any) -> None:
    from idp.audit import EventTag, record_event

    record_event(
        EventTag.INVITATION_SENT,
        account=company["admin_m"].customer_account,
        actor=company["admin"],
        email=company["worker"].email,
        note="für Jürgen",
    )
    db.session.commit()
    assert members.change_log(company["worker_m"], search="jürgen").total == 1
