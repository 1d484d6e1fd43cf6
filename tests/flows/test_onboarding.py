"""Onboarding ("Starten Sie durch!"): choose the affiliation, then join a customer
account by its number or by linking a legacy account; a pending authorization
continues afterwards."""

from __future__ import annotations

import html

import pytest
from passlib.hash import md5_crypt
from sqlalchemy import select

from idp import accounts
from idp.orgs import service
from idp.store import LegacyAccount, Membership, db
from tests.flows.test_login import PASSWORD, post_login
from tests.flows.test_registration import NEW, enter_code, register
from tests.oidc.test_code_flow import verify
from tests.support.oidc import RID, csrf_token, query

CUSTOMERS = [
    {"customer_number": "447712782", "name": "Bäckerei Schmidt GmbH", "country": "DE",
     "product_line": "sage50"},
    {"customer_number": "523938499", "name": "Elektro Weber e.K.", "country": "AT",
     "product_line": "dpw"},
]  # fmt: skip
JOIN = "/onboarding/join?group=sage50"
WRONG_CREDENTIALS = "Benutzername oder Passwort ist falsch."


@pytest.fixture
def customers(app):
    assert not service.import_customers(CUSTOMERS).errors
    db.session.commit()


@pytest.fixture
def legacy(customers):
    account = service.find_customer("447712782")
    db.session.add(
        LegacyAccount(
            username="anna.schmidt",
            password_hash=md5_crypt.hash("altanna0"),
            customer_account_id=account.id,
        )
    )
    db.session.commit()


@pytest.fixture
def signed_in(client, user, customers):
    assert post_login(client, user.email, PASSWORD).status_code == 302
    return client


def submit(client, url=JOIN, **form):
    page = client.get(url)
    return client.post(url, data={"csrf_token": csrf_token(page), **form})


def join(client, number, url=JOIN):
    return submit(client, url, action="number", customer_number=number)


def link(client, username="anna.schmidt", password="altanna0"):
    return submit(client, action="legacy", legacy_username=username, legacy_password=password)


def memberships(user):
    db.session.expire_all()
    return db.session.scalars(select(Membership).where(Membership.user_id == user.id)).all()


def field_error(response, field):
    """The message shown at a field (the macro's ``<p class="field-error">``)."""
    page = html.unescape(response.get_data(as_text=True))
    start = page.index(f'id="{field}-error">') + len(f'id="{field}-error">')
    return page[start : page.index("</p>", start)]


def test_signed_out_visitors_are_sent_to_login(client):
    for path in ("/onboarding/", JOIN):
        response = client.get(path)
        assert response.status_code == 302 and response.headers["Location"] == "/login"


def test_affiliation_page_lists_the_three_groups(signed_in):
    page = html.unescape(signed_in.get("/onboarding/").get_data(as_text=True))
    assert "Starten Sie durch!" in page and "Bitte wählen Sie Ihre Zugehörigkeit aus" in page
    assert "Deutschland:" in page and "Österreich:" in page
    for group in ("sage50", "sageb7", "dpw"):
        assert f"/onboarding/join?group={group}" in page
    assert page.count("Hier anmelden") == 3


def test_join_page_has_both_forms(signed_in):
    page = html.unescape(signed_in.get(JOIN).get_data(as_text=True))
    assert 'id="customer_number" name="customer_number"' in page and 'inputmode="numeric"' in page
    assert "Beispiel: 123456789" in page and "„D“ beginnend" in page
    assert 'id="legacy_username" name="legacy_username" type="text" autocomplete="off"' in page
    assert 'id="legacy_password" name="legacy_password" type="password"' in page
    assert 'value="number"' in page and 'value="legacy"' in page


def test_unknown_group_is_a_400_page(signed_in):
    assert signed_in.get("/onboarding/join?group=sage42").status_code == 400


def test_join_by_number_without_an_admin_is_active(signed_in, user):
    response = join(signed_in, " 4477 12782 ")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "Geschafft" in page
    assert "Sie sind jetzt Mitglied von Bäckerei Schmidt GmbH." in html.unescape(page)
    assert 'href="/account/"' in page
    [membership] = memberships(user)
    assert (membership.status, membership.role) == ("active", "employee")


def test_join_once_the_customer_has_an_active_admin_is_pending(signed_in, user):
    admin = accounts.create_user("chef@example.de", "Korrekt-Pferd-Batterie-2")
    service.join_by_customer_number(admin, "447712782").role = "admin"
    db.session.commit()
    response = join(signed_in, "447712782")
    assert "Ihr Administrator muss Ihren Zugang noch freischalten." in response.get_data(
        as_text=True
    )
    assert [m.status for m in memberships(user)] == ["pending"]


@pytest.mark.parametrize(
    ("number", "message"),
    [
        ("D447712782", "Bitte geben Sie nur die neun Ziffern ohne das vorangestellte „D“ ein."),
        ("44771278", "Die Kundennummer besteht aus genau neun Ziffern."),
        ("44771278x", "Die Kundennummer besteht aus genau neun Ziffern."),
        ("999999999", "Zu dieser Kundennummer haben wir kein Kundenkonto gefunden."),
    ],
)
def test_refused_numbers_are_explained_at_the_field(signed_in, user, number, message):
    response = join(signed_in, number)
    assert response.status_code == 400 and message in field_error(response, "customer_number")
    assert f'value="{number}"' in response.get_data(as_text=True)
    assert memberships(user) == []


@pytest.mark.parametrize(
    ("group", "number"),
    [("dpw", "447712782"), ("sageb7", "447712782"), ("sage50", "523938499")],
)
def test_a_number_of_another_affiliation_is_explained_at_the_field(signed_in, user, group, number):
    """447712782 is a Sage 50 customer, 523938499 a Sage DPW one (Austria): the
    affiliation chosen on the first page must fit."""
    response = join(signed_in, number, url=f"/onboarding/join?group={group}")
    assert response.status_code == 400
    assert field_error(response, "customer_number") == (
        "Diese Kundennummer gehört nicht zur gewählten Zugehörigkeit."
    )
    assert memberships(user) == []


def test_every_product_line_of_the_group_may_join(signed_in, user):
    """Sage 100 belongs to the first group, next to Sage 50."""
    service.import_customers(
        [{"customer_number": "261973069", "name": "Müller & Söhne KG", "country": "DE",
          "product_line": "sage100"}]
    )  # fmt: skip
    db.session.commit()
    response = join(signed_in, "261973069")
    assert response.status_code == 200
    assert [m.customer_account.customer_number for m in memberships(user)] == ["261973069"]


def test_joining_twice_says_already_a_member(signed_in):
    join(signed_in, "447712782")
    response = join(signed_in, "447712782")
    assert response.status_code == 400
    assert field_error(response, "customer_number") == "Sie gehören diesem Kundenkonto bereits an."


def test_legacy_link_joins_and_a_second_link_is_refused(signed_in, user, legacy):
    response = link(signed_in, username="Anna.Schmidt")
    assert "Sie sind jetzt Mitglied von Bäckerei Schmidt GmbH." in html.unescape(
        response.get_data(as_text=True)
    )
    assert [m.customer_account.customer_number for m in memberships(user)] == ["447712782"]
    again = link(signed_in)
    assert again.status_code == 400
    assert "bereits" in field_error(again, "legacy_username")


def test_wrong_password_and_unknown_username_look_the_same(signed_in, user, legacy):
    wrong = link(signed_in, password="falsch")
    unknown = link(signed_in, username="niemand")
    assert wrong.status_code == unknown.status_code == 400
    assert field_error(wrong, "legacy_password") == WRONG_CREDENTIALS
    assert field_error(unknown, "legacy_password") == WRONG_CREDENTIALS
    assert memberships(user) == []


@pytest.mark.config(security={"login_limit_account": "2 per minute"})
def test_legacy_attempts_per_username_are_limited_but_numbers_are_not(signed_in, legacy):
    statuses = [link(signed_in, password="falsch").status_code for _ in range(3)]
    assert statuses == [400, 400, 429]
    assert link(signed_in, username="jemand").status_code == 400
    assert [join(signed_in, "44771278").status_code for _ in range(3)] == [400] * 3


def test_posting_without_csrf_token_is_refused(signed_in, user):
    response = signed_in.post(JOIN, data={"action": "number", "customer_number": "447712782"})
    assert response.status_code == 400 and memberships(user) == []


@pytest.mark.parametrize(
    "form",
    [
        {"action": "number", "customer_number": "4" * 5000},
        {"action": "legacy", "legacy_username": "a" * 5000, "legacy_password": "x" * 5000},
        {"action": "nonsense"},
        {"action": "number", "customer_number": "", "group": "x" * 5000},
    ],
)
def test_odd_input_gets_a_page_not_a_crash(signed_in, legacy, form):
    assert submit(signed_in, **form).status_code == 400


def test_pending_authorization_continues_after_joining(client, user, customers, portal):
    login_page = portal.follow(portal.authorize())
    rid = login_page.request.args["rid"]
    post_login(client, user.email, PASSWORD, login_page)  # signed in, request still pending
    start = client.get(f"/onboarding/?rid={rid}").get_data(as_text=True)
    assert f"/onboarding/join?group=dpw&amp;rid={rid}" in start
    done = join(client, "523938499", url=f"/onboarding/join?group=dpw&rid={rid}")
    assert f'href="/authorize/continue?rid={rid}"' in done.get_data(as_text=True)
    callback = client.get(f"/authorize/continue?rid={rid}")
    assert callback.headers["Location"].startswith(portal.redirect_uri)
    assert "code=" in callback.headers["Location"]


def test_account_page_lists_memberships_and_links_to_onboarding(signed_in):
    join(signed_in, "447712782")
    page = html.unescape(signed_in.get("/account/").get_data(as_text=True))
    row = page[page.index('id="membership-447712782"') :]
    row = row[: row.index("</tr>")]
    assert all(text in row for text in ("Bäckerei Schmidt GmbH", "Mitarbeiter", "Aktiv"))
    assert 'href="/onboarding/" id="add-customer-account"' in page


# -- offered automatically ------------------------------------------------------------
def customer_login(client, portal, user, **extra):
    """Authorize with the ``customer`` scope, sign in (continuing the request),
    and stop at the first page that is not a redirect inside the provider."""
    login_page = portal.follow(portal.authorize(scope="openid customer", **extra))
    return portal.follow(portal.submit_login(login_page, user.email, PASSWORD))


def skip(client, page):
    rid = RID.search(page.get_data(as_text=True))
    form = {"csrf_token": csrf_token(page), "rid": rid.group(1) if rid else ""}
    return client.post("/onboarding/skip", data=form)


def test_a_direct_registration_is_handed_to_onboarding(client, customers, mailbox):
    register(client)
    done = enter_code(client, mailbox.code(NEW))
    assert done.headers["Location"] == "/onboarding/"
    page = client.get("/onboarding/")
    assert "Starten Sie durch!" in page.get_data(as_text=True)
    assert 'id="onboarding-skip"' in page.get_data(as_text=True)
    assert skip(client, page).headers["Location"] == "/account/"


def test_customer_scope_without_membership_offers_onboarding_then_continues(
    client, user, customers, portal
):
    page = customer_login(client, portal, user)
    assert page.status_code == 200 and page.request.path == "/onboarding/"
    rid = page.request.args["rid"]
    done = join(client, "447712782", url=f"/onboarding/join?group=sage50&rid={rid}")
    assert f'href="/authorize/continue?rid={rid}"' in done.get_data(as_text=True)
    callback = portal.follow(client.get(f"/authorize/continue?rid={rid}"))
    tokens = portal.exchange(query(callback.headers["Location"])["code"]).json
    claims = verify(client, tokens["id_token"], "portal")
    assert claims["customer_number"] == "447712782" and claims["membership_status"] == "active"


def test_later_continues_without_a_membership_and_is_not_asked_again(
    client, user, customers, portal
):
    page = customer_login(client, portal, user)
    callback = portal.follow(skip(client, page))
    assert callback.headers["Location"].startswith(portal.redirect_uri)
    tokens = portal.exchange(query(callback.headers["Location"])["code"]).json
    assert "customer_number" not in verify(client, tokens["id_token"], "portal")
    assert memberships(user) == []


def test_silent_authorization_without_membership_skips_onboarding(client, user, customers, portal):
    portal.sign_in(user.email, PASSWORD, scope="openid profile")
    response = portal.authorize(scope="openid customer", prompt="none")
    assert "code=" in response.headers["Location"]


def test_clients_without_the_customer_scope_get_no_onboarding(client, user, customers, portal):
    assert "code" in portal.sign_in(user.email, PASSWORD, scope="openid profile")


def test_registration_for_a_customer_client_goes_through_onboarding(
    client, customers, portal, mailbox
):
    login_page = portal.follow(portal.authorize(scope="openid customer"))
    rid = login_page.request.args["rid"]
    register(client, rid=rid, page=client.get(f"/register/?rid={rid}"))
    page = portal.follow(enter_code(client, mailbox.code(NEW)))
    assert page.request.path == "/onboarding/" and page.request.args["rid"] == rid
    join(client, "523938499", url=f"/onboarding/join?group=dpw&rid={rid}")
    callback = portal.follow(client.get(f"/authorize/continue?rid={rid}"))
    assert "code=" in callback.headers["Location"]


def test_skip_and_choose_need_a_signed_in_user(client):
    assert client.get("/onboarding/choose").headers["Location"] == "/login"
    page = client.get("/login")
    response = client.post("/onboarding/skip", data={"csrf_token": csrf_token(page)})
    assert response.headers["Location"] == "/login"


def test_choose_without_a_pending_authorization_goes_to_the_account_page(signed_in):
    assert signed_in.get("/onboarding/choose").headers["Location"] == "/account/"


# -- administrators hear of pending members ---------------------------------------------
def add_admin(email, status="active"):
    admin = accounts.create_user(email, "Korrekt-Pferd-Batterie-2", given_name="Chef")
    account = service.find_customer("447712782")
    db.session.add(
        Membership(user_id=admin.id, customer_account_id=account.id, role="admin", status=status)
    )
    db.session.commit()


def test_a_pending_membership_mails_every_active_admin(signed_in, user, mailbox):
    add_admin("chef@example.de")
    add_admin("vize@example.de")
    add_admin("ex@example.de", status="locked")
    join(signed_in, "447712782")
    assert sorted(m["To"] for m in mailbox.messages) == ["chef@example.de", "vize@example.de"]
    mail = mailbox.last("chef@example.de")
    assert mail["Subject"] == "Neuer Benutzer wartet auf Freischaltung"
    text = mailbox.text(mail)
    assert "Anna Schmidt (anna.schmidt@example.de)" in text and "Bäckerei Schmidt GmbH" in text
    assert "Benutzerverwaltung des Portals" in text and "http" not in text


@pytest.mark.config(
    branding={"portal_users_url": "https://portal.example/users?c={customer_number}"}
)
def test_the_pending_mail_links_to_the_portal_user_management(signed_in, mailbox):
    add_admin("chef@example.de")
    join(signed_in, "447712782")
    assert mailbox.link("chef@example.de") == "https://portal.example/users?c=447712782"


def test_an_active_membership_mails_nobody(signed_in, mailbox):
    join(signed_in, "447712782")
    assert mailbox.messages == []


@pytest.mark.parametrize("number", ["4" * 5000, "", "\x00"])
def test_odd_picks_get_a_page_not_a_crash(client, user, customers, portal, number):
    service.join_by_customer_number(user, "447712782")
    service.join_by_customer_number(user, "523938499")
    db.session.commit()
    page = customer_login(client, portal, user)
    rid = page.request.args["rid"]
    form = {"csrf_token": csrf_token(page), "rid": rid, "customer_number": number}
    assert client.post("/onboarding/choose", data=form).status_code == 400
