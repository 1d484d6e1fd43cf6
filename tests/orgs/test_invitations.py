"""Invitations ("Benutzer hinzufügen", manual 3.6): the service rules, the mail
through the real SMTP sink, and accepting by an existing account."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from idp import accounts
from idp.errors import (
    ChangeRejected,
    CodeExpired,
    CodeInvalid,
    Conflict,
    Forbidden,
    InvalidPermissions,
)
from idp.mail.outbox import deliver_due
from idp.orgs import invitations, service
from idp.store import AuditEvent, Membership, OneTimeToken, db, utcnow

CUSTOMERS = [
    {"customer_number": "447712782", "name": "Bäckerei Schmidt GmbH", "country": "DE",
     "product_line": "sage50"},
    {"customer_number": "261973069", "name": "Müller & Söhne KG", "country": "DE",
     "product_line": "sage100"},
]  # fmt: skip
INVITED = "nora.neumann@example.de"


@pytest.fixture
def account(app):
    assert not service.import_customers(CUSTOMERS).errors
    db.session.commit()
    return service.find_customer("447712782")


def admin_of(account, email="chef@example.de"):
    user = accounts.create_user(
        email, "Korrekt-Pferd-Batterie-2", given_name="Carla", family_name="Chef"
    )
    db.session.add(
        Membership(user_id=user.id, customer_account_id=account.id, role="admin", status="active")
    )
    db.session.flush()
    return user


@pytest.fixture
def admin(account):
    user = admin_of(account)
    db.session.commit()
    return user


def invite(account, actor, email=" Nora.Neumann@Example.DE ", **extra):
    fields = {
        "salutation": "frau",
        "given_name": "Nora",
        "family_name": "Neumann",
        "email": email,
        "permissions": ["documents", "licenses"],
        **extra,
    }
    row = invitations.create_invitation(account, actor=actor, **fields)
    db.session.commit()
    return row


def token_of(mailbox, address=INVITED):
    deliver_due()
    return urlsplit(mailbox.link(address)).path.rsplit("/", 1)[1]


def test_invitation_mail_follows_the_manual(account, admin, mailbox):
    row = invite(account, admin)
    assert row.email == INVITED and row.user_id is None
    lifetime = row.expires_at - utcnow()
    assert dt.timedelta(days=6, hours=23) < lifetime <= dt.timedelta(days=7)
    deliver_due()
    mail = mailbox.last(INVITED)
    assert mail["Subject"] == "Einladung zum Kundenportal"  # branding.portal_name
    text = mailbox.text(mail)
    assert "Herzlich willkommen im Kundenportal" in text
    assert "Nach erfolgter Registrierung gelangen Sie direkt in das Kundenportal." in text
    assert (
        "Carla Chef hat Sie eingeladen, dem Kundenkonto Bäckerei Schmidt GmbH beizutreten." in text
    )
    assert "Bitte schließen Sie die Registrierung ab, indem Sie folgenden Link anklicken:" in text
    assert "Der Link ist 7 Tage gültig" in text
    link = mailbox.link(INVITED)
    assert link.startswith("http://localhost/invitation/") and f"Jetzt registrieren: {link}" in text
    html = mail.get_body(preferencelist=("html",)).get_content()
    assert f'href="{link}"' in html and "Jetzt registrieren</a>" in html


def test_invitation_stores_the_data_and_records_an_event(account, admin):
    row = invite(account, admin, permissions=["licenses", "documents", "licenses"])
    assert row.payload["permissions"] == ["documents", "licenses"]
    assert (row.payload["given_name"], row.payload["salutation"]) == ("Nora", "frau")
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.tag == "invitation.sent"))
    assert event.customer_account_id == account.id and event.actor_id == admin.id
    assert event.details == {"email": INVITED, "permissions": ["documents", "licenses"]}


@pytest.mark.config(accounts={"invitation_lifetime": 3600})
def test_the_lifetime_comes_from_the_config(account, admin):
    row = invite(account, admin)
    assert dt.timedelta(minutes=59) < row.expires_at - utcnow() <= dt.timedelta(hours=1)


def test_unknown_permissions_are_refused(account, admin, mailbox):
    with pytest.raises(InvalidPermissions) as refused:
        invite(account, admin, permissions=["documents", "root", "sudo"])
    assert refused.value.codes == ["root", "sudo"]
    assert db.session.scalar(select(OneTimeToken)) is None


@pytest.mark.parametrize(
    ("fields", "errors"),
    [
        ({"email": "keine-adresse"}, {"email"}),
        ({"email": "a@b.de" + "x" * 400}, {"email"}),
        ({"salutation": "graf"}, {"salutation"}),
        ({"given_name": " ", "family_name": "x" * 101}, {"given_name", "family_name"}),
        ({"given_name": "No\x00ra"}, {"given_name"}),
    ],
)
def test_malformed_fields_are_refused_by_field(account, admin, fields, errors):
    with pytest.raises(ChangeRejected) as refused:
        invite(account, admin, **fields)
    assert set(refused.value.errors) == errors


def test_only_active_administrators_invite(account, admin):
    employee = accounts.create_user("mia@example.de", "Korrekt-Pferd-Batterie-3")
    service.join_by_customer_number(employee, "447712782")
    with pytest.raises(Forbidden):
        invite(account, employee)
    other_admin = admin_of(service.find_customer("261973069"), "fremd@example.de")
    with pytest.raises(Forbidden):
        invite(account, other_admin)


def test_inviting_a_member_is_a_conflict(account, admin, user):
    service.join_by_customer_number(user, "447712782")
    with pytest.raises(Conflict):
        invite(account, admin, email="ANNA.schmidt@example.de")


def test_a_new_invitation_replaces_the_earlier_one_of_the_same_account(account, admin, mailbox):
    invite(account, admin)
    first = token_of(mailbox)
    other = service.find_customer("261973069")
    invite(other, admin_of(other, "boss@example.de"))
    from_other = token_of(mailbox)
    invite(account, admin, given_name="Nora-Marie")
    second = token_of(mailbox)
    with pytest.raises(CodeInvalid):
        invitations.find_invitation(first)
    assert invitations.find_invitation(second).given_name == "Nora-Marie"
    assert invitations.find_invitation(from_other).account == other


def test_find_reads_the_invitation_and_refuses_expired_or_orphaned_ones(account, admin, mailbox):
    row = invite(account, admin)
    token = token_of(mailbox)
    found = invitations.find_invitation(token)
    assert (found.email, found.account, found.permissions) == (
        INVITED,
        account,
        ["documents", "licenses"],
    )
    with pytest.raises(CodeInvalid):
        invitations.find_invitation("x" * 43)
    row.expires_at = utcnow() - dt.timedelta(seconds=1)
    db.session.commit()
    with pytest.raises(CodeExpired):
        invitations.find_invitation(token)


def test_an_invitation_dies_when_its_sender_is_no_administrator_any_more(account, admin, mailbox):
    invite(account, admin)
    token = token_of(mailbox)
    service.membership_in(admin, account).role = "employee"
    db.session.commit()
    with pytest.raises(CodeInvalid):
        invitations.find_invitation(token)


def test_an_existing_account_accepts_once_and_becomes_an_active_member(account, admin, mailbox):
    nora = accounts.create_user(INVITED, "Korrekt-Pferd-Batterie-4", email_verified=True)
    invite(account, admin)
    token = token_of(mailbox)
    membership = invitations.accept_invitation(token, nora)
    db.session.commit()
    assert (membership.status, membership.role) == ("active", "employee")
    assert membership.permissions == ["documents", "licenses"]  # though there is an admin
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.tag == "invitation.accepted"))
    assert event.user_id == nora.id and event.customer_account_id == account.id
    assert event.details["invited_by"] == admin.sub
    with pytest.raises(CodeInvalid):
        invitations.accept_invitation(token, nora)


def test_someone_else_cannot_accept(account, admin, user, mailbox):
    invite(account, admin)
    with pytest.raises(Forbidden):
        invitations.accept_invitation(token_of(mailbox), user)
    assert service.memberships_of(user) == []
