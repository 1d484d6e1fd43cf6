"""Accepting an invitation through HTTP with the real SMTP sink: the mailed link,
the pre-filled registration, the emailed code, the membership and its claims,
single use, expiry, and an invitation to an address that has an account."""

from __future__ import annotations

import datetime as dt
import html
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from idp import accounts
from idp.mail.outbox import deliver_due
from idp.orgs import invitations, service
from idp.store import AuditEvent, Membership, OneTimeToken, User, db, utcnow
from tests.flows.test_registration import enter_code
from tests.oidc.test_code_flow import verify
from tests.support.oidc import csrf_token

INVITED = "nora.neumann@example.de"
PASSWORD = "Sonnen-Blumen-Wiese-42"
EXISTING_PASSWORD = "Korrekt-Pferd-Batterie-1"  # the ``user`` fixture's


@pytest.fixture
def account(app):
    rows = [{"customer_number": "447712782", "name": "Bäckerei Schmidt GmbH", "country": "DE",
             "product_line": "sage50"}]  # fmt: skip
    assert not service.import_customers(rows).errors
    db.session.commit()
    return service.find_customer("447712782")


@pytest.fixture
def admin(account):
    chef = accounts.create_user("chef@example.de", "Korrekt-Pferd-Batterie-2", given_name="Carla")
    db.session.add(
        Membership(user_id=chef.id, customer_account_id=account.id, role="admin", status="active")
    )
    db.session.commit()
    return chef


def invite(account, admin, mailbox, email=INVITED):
    """The administrator invites; returns the link path from the mail."""
    invitations.create_invitation(
        account,
        actor=admin,
        salutation="frau",
        given_name="Nora",
        family_name="Neumann",
        email=email,
        permissions=["documents", "support_requests"],
    )
    db.session.commit()
    deliver_due()
    return urlsplit(mailbox.link(email)).path


@pytest.fixture
def link(account, admin, mailbox):
    return invite(account, admin, mailbox)


def register(client, link, password=PASSWORD, confirm=None, **extra):
    page = client.get(link)
    form = {
        "csrf_token": csrf_token(page),
        "salutation": "frau",
        "given_name": "Nora",
        "family_name": "Neumann",
        "password": password,
        "password_confirm": password if confirm is None else confirm,
        **extra,
    }
    return client.post(link, data=form)


def membership_of(email):
    db.session.expire_all()
    user = db.session.scalar(select(User).where(User.email == email))
    return db.session.scalar(select(Membership).where(Membership.user_id == user.id))


def test_the_link_opens_a_prefilled_registration(client, link):
    page = client.get(link)
    text = html.unescape(page.get_data(as_text=True))
    assert page.status_code == 200 and "Erstellen Sie Ihr Konto" in text
    assert "Sie wurden eingeladen, dem Kundenkonto Bäckerei Schmidt GmbH beizutreten." in text
    assert f'id="email" name="email" type="email" value="{INVITED}"' in text
    assert 'readonly="readonly"' in text[text.index('id="email"') :][:400]
    assert '<option value="frau" selected>' in text
    assert 'value="Nora"' in text and 'value="Neumann"' in text
    assert 'id="password" name="password"' in text and 'id="password_confirm"' in text


def test_register_with_the_mailed_code_makes_an_active_member_with_the_permissions(
    client, link, mailbox, portal, admin
):
    response = register(client, link, email="attacker@example.de")  # the address is fixed
    assert response.status_code == 302 and response.headers["Location"] == "/verify/"
    assert mailbox.last(INVITED)["Subject"] == "Verifizieren Sie Ihre E-Mail-Adresse"
    done = enter_code(client, mailbox.code(INVITED))
    assert done.headers["Location"] == "/account/"  # no portal configured
    membership = membership_of(INVITED)
    assert (membership.status, membership.role) == ("active", "employee")  # despite the admin
    assert membership.permissions == ["documents", "support_requests"]
    nora = accounts.find_by_email(INVITED)
    assert nora.salutation == "frau" and nora.email_verified
    tags = db.session.scalars(select(AuditEvent.tag).where(AuditEvent.user_id == nora.id)).all()
    assert "invitation.accepted" in tags
    assert accounts.find_by_email("attacker@example.de") is None
    tokens = portal.tokens_for(INVITED, PASSWORD, scope="openid customer")
    claims = verify(client, tokens["id_token"], "portal")
    assert claims["customer_number"] == "447712782"
    assert claims["permissions"] == ["documents", "support_requests"]
    assert claims["membership_status"] == "active"


@pytest.mark.config(branding={"portal_url": "https://portal.example/"})
def test_the_invited_person_lands_at_the_portal(client, link, mailbox):
    register(client, link)
    assert enter_code(client, mailbox.code(INVITED)).headers["Location"] == (
        "https://portal.example/"
    )


def test_the_link_works_once(client, link, mailbox, web):
    register(client, link)
    enter_code(client, mailbox.code(INVITED))
    again = web.test_client().get(link)
    assert again.status_code == 404
    assert "Diese Einladung ist ungültig oder wurde bereits verwendet." in again.get_data(
        as_text=True
    )


def test_an_expired_link_is_refused(client, link):
    row = db.session.scalar(select(OneTimeToken).where(OneTimeToken.purpose == "invitation"))
    row.expires_at = utcnow() - dt.timedelta(seconds=1)
    db.session.commit()
    page = client.get(link)
    assert page.status_code == 410
    assert "Diese Einladung ist abgelaufen." in page.get_data(as_text=True)
    posted = client.post(link, data={"csrf_token": csrf_token(client.get("/login"))})
    assert posted.status_code == 410 and accounts.find_by_email(INVITED) is None


@pytest.mark.parametrize("token", ["nonsense", "x" * 43, "y" * 500])
def test_unknown_links_get_the_invalid_page(client, token):
    page = client.get(f"/invitation/{token}")
    text = page.get_data(as_text=True)
    assert page.status_code == 404 and 'id="invitation-used"' in text
    assert "Bitten Sie Ihren Administrator um eine neue Einladung." in text


def test_the_mail_invites_to_the_customer_portal_by_default(account, admin, mailbox):
    invite(account, admin, mailbox)
    mail = mailbox.last(INVITED)
    assert mail["Subject"] == "Einladung zum Kundenportal"
    text = mailbox.text(mail)
    assert "Herzlich willkommen im Kundenportal" in text
    assert "gelangen Sie direkt in das Kundenportal." in text
    assert "Kunden-ID Portal" not in text


@pytest.mark.config(branding={"portal_name": "Sage Portal"})
def test_the_mail_names_the_configured_portal(account, admin, mailbox):
    """As in the manual (3.6): "Einladung zum Sage Portal"."""
    invite(account, admin, mailbox)
    mail = mailbox.last(INVITED)
    assert mail["Subject"] == "Einladung zum Sage Portal"
    text = mailbox.text(mail)
    assert "Herzlich willkommen im Sage Portal" in text
    assert "Nach erfolgter Registrierung gelangen Sie direkt in das Sage Portal." in text
    html_body = mail.get_body(preferencelist=("html",)).get_content()
    assert "Herzlich willkommen im Sage Portal" in html_body


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        ({"confirm": "anders"}, "password_confirm", "Die Passwörter stimmen nicht überein."),
        ({"password": "passwort"}, "password", None),
        ({"given_name": " "}, "given_name", "Bitte geben Sie Ihren Vornamen ein."),
        ({"salutation": "graf"}, "salutation", "Bitte wählen Sie eine Anrede aus der Liste."),
    ],
)
def test_the_registration_policy_applies(client, link, mailbox, form, field, message):
    response = register(client, link, **form)
    text = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 400 and f'id="{field}-error"' in text
    assert message is None or message in text
    assert accounts.find_by_email(INVITED) is None
    assert mailbox.to(INVITED)[-1]["Subject"].startswith("Einladung")  # no code sent


def test_an_existing_account_joins_after_signing_in(client, account, admin, user, mailbox):
    link = invite(account, admin, mailbox, email=user.email)
    page = client.get(link)
    text = html.unescape(page.get_data(as_text=True))
    assert "Für die Adresse anna.schmidt@example.de gibt es bereits ein Konto." in text
    assert 'href="/login" id="invitation-login"' in text
    login_page = client.get("/login")
    signed_in = client.post(
        "/login",
        data={"csrf_token": csrf_token(login_page), "email": user.email,
              "password": EXISTING_PASSWORD},
    )  # fmt: skip
    assert signed_in.headers["Location"] == link  # back to the invitation
    confirm = client.get(link)
    assert 'id="invitation-accept"' in confirm.get_data(as_text=True)
    accepted = client.post(f"{link}/accept", data={"csrf_token": csrf_token(confirm)})
    assert accepted.status_code == 302 and accepted.headers["Location"] == "/account/"
    membership = membership_of(user.email)
    assert membership.status == "active"
    assert membership.permissions == ["documents", "support_requests"]
    assert client.get(link).status_code == 404  # used


def test_signed_in_as_someone_else_is_told_to_sign_out(client, account, admin, user, mailbox):
    link = invite(account, admin, mailbox, email="other@example.de")
    accounts.create_user("other@example.de", "Korrekt-Pferd-Batterie-5")
    db.session.commit()
    login_page = client.get("/login")
    client.post(
        "/login",
        data={"csrf_token": csrf_token(login_page), "email": user.email,
              "password": EXISTING_PASSWORD},
    )  # fmt: skip
    page = client.get(link)
    assert 'id="invitation-other-user"' in page.get_data(as_text=True)
    token = csrf_token(client.get("/account/"))
    refused = client.post(f"{link}/accept", data={"csrf_token": token})
    assert refused.headers["Location"] == link
    assert service.memberships_of(user) == []


def test_accepting_needs_a_signed_in_user_and_a_csrf_token(client, link):
    page = client.get(link)
    assert client.post(f"{link}/accept", data={}).status_code == 400
    response = client.post(f"{link}/accept", data={"csrf_token": csrf_token(page)})
    assert response.headers["Location"] == link


@pytest.mark.parametrize(
    "form",
    [
        {"given_name": "x" * 5000},
        {"password": "p" * 5000},
        {"salutation": "s" * 5000},
        {"family_name": "\x00"},
    ],
)
def test_odd_input_gets_a_page_not_a_crash(client, link, form):
    assert register(client, link, **form).status_code == 400
    assert accounts.find_by_email(INVITED) is None


def test_an_oversized_salutation_is_refused_at_its_field(client, link):
    """Not by the NUL filter in front of the form: the salutation check itself."""
    response = register(client, link, salutation="s" * 5000)
    assert response.status_code == 400
    assert 'id="salutation-error"' in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"given_name": "No\r\nra"}, "given_name"),
        ({"family_name": "Neu\nmann"}, "family_name"),
        ({"family_name": "Neu\tmann"}, "family_name"),
        ({"salutation": "frau\r\nBcc: x@example.de"}, "salutation"),
    ],
)
def test_control_characters_in_names_are_refused_at_the_field(client, link, changes, field):
    response = register(client, link, **changes)
    assert response.status_code == 400
    assert f'id="{field}-error"' in response.get_data(as_text=True)
    assert accounts.find_by_email(INVITED) is None
