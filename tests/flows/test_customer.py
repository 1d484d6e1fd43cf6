"""Member pages of a customer account: "Admin-Rechte beantragen" (with an existing
administrator's consent) and "Administrator kontaktieren", through HTTP with the
real SMTP sink."""

from __future__ import annotations

import html

import pytest

from idp import accounts
from idp.orgs import admin_requests, service
from idp.store import AdminRequest, Membership, db
from tests.flows.test_login import PASSWORD, post_login
from tests.flows.test_onboarding import field_error
from tests.support.oidc import csrf_token

NUMBER = "447712782"
REQUEST = f"/customer/admin-request?customer_number={NUMBER}"
CONTACT = f"/customer/contact?customer_number={NUMBER}"
CONSENT = f"/customer/admin-requests?customer_number={NUMBER}"
CUSTOMERS = [
    {"customer_number": NUMBER, "name": "Bäckerei Schmidt GmbH", "country": "DE",
     "product_line": "sage50"},
    {"customer_number": "261973069", "name": "Müller & Söhne KG", "country": "DE",
     "product_line": "sage100"},
]  # fmt: skip


@pytest.fixture
def customers(app):
    assert not service.import_customers(CUSTOMERS).errors
    db.session.commit()


def join(user, number: str = NUMBER, role: str = "employee") -> Membership:
    membership = service.join_by_customer_number(user, number)
    membership.role, membership.status = role, "active"
    db.session.commit()
    return membership


def new_user(email: str, given_name: str, family_name: str = "Weber"):
    user = accounts.create_user(
        email, PASSWORD, given_name=given_name, family_name=family_name, email_verified=True
    )
    db.session.commit()
    return user


def signed_in_as(web, user):
    browser = web.test_client()
    assert post_login(browser, user.email, PASSWORD).status_code == 302
    return browser


@pytest.fixture
def member(user, customers) -> Membership:
    return join(user)


@pytest.fixture
def browser(client, user, member):
    assert post_login(client, user.email, PASSWORD).status_code == 302
    return client


@pytest.fixture
def admin(customers):
    admin = new_user("chef@example.de", "Clara", "Chef")
    join(admin, role="admin")
    return admin


def submit(browser, url, **form):
    page = browser.get(url)
    return browser.post(url, data={"csrf_token": csrf_token(page), **form})


def token(browser) -> str:
    """A CSRF token of the browser's session (the account page always has forms)."""
    return csrf_token(browser.get("/account/"))


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def status_of(member: Membership) -> list[str]:
    db.session.expire_all()
    return [r.status for r in db.session.query(AdminRequest).filter_by(membership_id=member.id)]


# -- access -------------------------------------------------------------------------------
def test_signed_out_visitors_are_sent_to_login(client):
    for path in (REQUEST, CONTACT, CONSENT):
        response = client.get(path)
        assert response.status_code == 302 and response.headers["Location"] == "/login"


@pytest.mark.parametrize("number", ["", "261973069", "999999999", "4477", "D447712782", "x" * 500])
def test_a_customer_number_that_is_not_the_users_membership_is_a_404(browser, number):
    for path in ("/customer/admin-request", "/customer/contact", "/customer/admin-requests"):
        response = browser.get(path, query_string={"customer_number": number})
        assert response.status_code == 404


def test_consent_page_is_forbidden_for_members_who_are_not_admins(browser):
    response = browser.get(CONSENT)
    assert response.status_code == 403 and "Keine Berechtigung" in text(response)


# -- "Admin-Rechte beantragen" ------------------------------------------------------------
def test_request_page_explains_the_duties_and_that_sage_approves(browser):
    page = text(browser.get(REQUEST))
    assert "<h1>Admin-Rechte beantragen</h1>" in page
    assert "Bäckerei Schmidt GmbH (Kundennummer 447712782)" in page
    assert "Vergabe von Berechtigungen" in page and "Sperren von Benutzerzugängen" in page
    assert "Sage prüft Ihren Antrag" in page
    assert '<label for="reason">Begründung (optional)</label>' in page
    assert 'id="accept_duties" name="accept_duties" type="checkbox"' in page


def test_request_needs_the_duties_accepted(browser, member):
    response = submit(browser, REQUEST, reason="Chefin")
    assert response.status_code == 400
    assert "Bitte bestätigen Sie, dass Sie die Aufgaben übernehmen." in text(response)
    assert "Chefin" in text(response)
    assert status_of(member) == []


def test_request_without_an_admin_goes_to_the_operator(browser, member, mailbox):
    response = submit(browser, REQUEST, reason="Geschäftsführerin", accept_duties="y")
    assert response.status_code == 302 and response.headers["Location"] == REQUEST
    page = text(browser.get(REQUEST))
    assert "Ihr Antrag auf Admin-Rechte wurde gestellt." in page
    assert "liegt Sage zur Freischaltung vor" in page and 'id="admin-request-submit"' not in page
    assert status_of(member) == ["pending"]
    assert [r.reason for r in admin_requests.pending_requests()] == ["Geschäftsführerin"]
    assert mailbox.messages == []


def test_a_second_request_is_a_conflict(browser, member):
    page = browser.get(REQUEST)
    form = {"csrf_token": csrf_token(page), "accept_duties": "y"}
    assert browser.post(REQUEST, data=form).status_code == 302
    again = browser.post(REQUEST, data=form)
    assert again.status_code == 409
    assert "Sie haben bereits Admin-Rechte beantragt." in text(again)
    assert status_of(member) == ["pending"]


def test_request_with_an_admin_waits_until_the_admin_consents(web, browser, member, admin, mailbox):
    assert "muss ein bestehender Administrator zustimmen" in text(browser.get(REQUEST))
    submit(browser, REQUEST, accept_duties="y")
    assert "wartet auf die Zustimmung eines Administrators" in text(browser.get(REQUEST))
    assert admin_requests.pending_requests() == []
    mail = mailbox.last(admin.email)
    assert mail["Subject"] == "Ihre Zustimmung: Anna Schmidt beantragt Admin-Rechte"
    link = mailbox.link(admin.email)
    assert link == f"http://localhost{CONSENT}"

    chef = signed_in_as(web, admin)
    page = chef.get(CONSENT)
    [request] = db.session.query(AdminRequest).all()
    assert page.status_code == 200 and "anna.schmidt@example.de" in text(page)
    url = f"/customer/admin-requests/{request.id}/consent?customer_number={NUMBER}"
    response = chef.post(url, data={"csrf_token": csrf_token(page)})
    assert response.status_code == 302
    assert "Der Antrag liegt jetzt Sage zur Freischaltung vor." in text(chef.get(CONSENT))
    assert status_of(member) == ["pending"]
    assert [r.id for r in admin_requests.pending_requests()] == [request.id]


def test_admin_declines_and_the_requester_is_told(web, browser, user, member, admin, mailbox):
    submit(browser, REQUEST, accept_duties="y")
    chef = signed_in_as(web, admin)
    page = chef.get(CONSENT)
    [request] = db.session.query(AdminRequest).all()
    url = f"/customer/admin-requests/{request.id}/decline?customer_number={NUMBER}"
    chef.post(url, data={"csrf_token": csrf_token(page)})
    assert "Zurzeit wartet kein Antrag auf Ihre Zustimmung." in text(chef.get(CONSENT))
    assert status_of(member) == ["rejected"]
    assert mailbox.last(user.email)["Subject"] == "Ihr Antrag auf Admin-Rechte wurde abgelehnt"
    again = chef.post(url, data={"csrf_token": csrf_token(page)})  # decided already
    assert again.status_code == 302
    assert "Über diesen Antrag wurde bereits entschieden." in text(chef.get(CONSENT))


def test_another_tenants_admin_cannot_consent(web, browser, member, admin):
    submit(browser, REQUEST, accept_duties="y")
    stranger = new_user("otto@example.de", "Otto")
    join(stranger, "261973069", role="admin")
    other = signed_in_as(web, stranger)
    page = other.get("/customer/admin-requests?customer_number=261973069")
    assert page.status_code == 200 and "anna.schmidt" not in text(page)
    [request] = db.session.query(AdminRequest).all()
    for number in ("261973069", NUMBER):
        url = f"/customer/admin-requests/{request.id}/consent?customer_number={number}"
        response = other.post(url, data={"csrf_token": token(other)})
        assert response.status_code == 404
    assert status_of(member) == ["awaiting_consent"]


def test_posts_without_csrf_token_are_refused(web, browser, member, admin):
    refused = browser.post(REQUEST, data={"accept_duties": "y"})
    assert refused.status_code == 400 and "Sitzung abgelaufen" in text(refused)
    assert browser.post(CONTACT, data={"subject": "a", "message": "b"}).status_code == 400
    submit(browser, REQUEST, accept_duties="y")
    [request] = db.session.query(AdminRequest).all()
    chef = signed_in_as(web, admin)
    url = f"/customer/admin-requests/{request.id}/consent?customer_number={NUMBER}"
    assert chef.post(url).status_code == 400
    assert status_of(member) == ["awaiting_consent"]


# -- "Administrator kontaktieren" ---------------------------------------------------------
def test_contact_mails_every_admin_with_reply_to_the_member(browser, user, admin, mailbox):
    second = new_user("zweite@example.de", "Zoe")
    join(second, role="admin")
    page = text(browser.get(CONTACT))
    assert '<label for="subject">Betreff</label>' in page
    assert '<label for="message">Nachricht</label>' in page
    response = submit(
        browser, CONTACT, subject="Zugang\r\nBcc: x@evil", message="Bitte\nfreischalten."
    )
    assert response.status_code == 302
    assert "Ihre Nachricht wurde an 2 Administratoren gesendet." in text(browser.get(CONTACT))
    sent = [m for m in mailbox.messages if m["Subject"].startswith("Nachricht von")]
    assert sorted(m["To"] for m in sent) == [admin.email, second.email]
    for mail in sent:
        assert mail["Subject"] == "Nachricht von Anna Schmidt: Zugang Bcc: x@evil"
        assert mail["Bcc"] is None
        body = mailbox.text(mail).replace("\r\n", "\n")
        assert "Bitte\nfreischalten." in body and "anna.schmidt@example.de" in body


def test_contact_mail_has_the_member_as_reply_to(browser, user, admin, mailbox):
    submit(browser, CONTACT, subject="Frage", message="Hallo")
    assert mailbox.last(admin.email)["Reply-To"] == user.email
    assert "Ihre Nachricht wurde an 1 Administrator gesendet." in text(browser.get(CONTACT))


def test_contact_without_an_admin_says_so(browser, mailbox):
    page = browser.get(CONTACT)
    assert "Ihr Kundenkonto hat noch keinen Administrator." in text(page)
    assert 'id="contact-submit"' not in text(page)
    response = browser.post(
        CONTACT, data={"csrf_token": token(browser), "subject": "a", "message": "b"}
    )
    assert response.status_code == 409
    assert "Ihr Kundenkonto hat noch keinen Administrator." in text(response)
    assert mailbox.messages == []


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        ({"subject": " ", "message": "Hallo"}, "subject", "Bitte geben Sie einen Betreff ein."),
        ({"subject": "Hallo", "message": "\n"}, "message", "Bitte geben Sie eine Nachricht ein."),
        ({"subject": "x" * 151, "message": "a"}, "subject", "höchstens 150 Zeichen"),
        ({"subject": "a", "message": "x" * 5001}, "message", "höchstens 5000 Zeichen"),
    ],
)
def test_contact_form_errors_are_shown_at_the_field(browser, admin, mailbox, form, field, message):
    response = submit(browser, CONTACT, **form)
    assert response.status_code == 400 and message in field_error(response, field)
    assert mailbox.messages == []


def test_contact_is_rate_limited(browser, admin, mailbox):
    page = browser.get(CONTACT)
    form = {"csrf_token": csrf_token(page), "subject": "Hallo", "message": "Nachricht"}
    codes = [browser.post(CONTACT, data=form).status_code for _ in range(11)]
    assert codes == [302] * 10 + [429]
    assert len(mailbox.to(admin.email)) == 10


@pytest.mark.parametrize(
    "form",
    [
        {"subject": "a" * 20_000, "message": "b" * 20_000, "reason": "c" * 20_000},
        {"subject": "\u202e\u0000", "message": "\ufeff", "accept_duties": ["y", "n"]},
    ],
)
def test_odd_input_gets_a_page_not_a_crash(web, browser, admin, form):
    chef = signed_in_as(web, admin)
    for http in (browser, chef):
        data = {"csrf_token": token(http), **form}
        for path in (REQUEST, CONTACT, CONSENT):
            assert http.post(path, data=data).status_code < 500
        for request_id in ("1", "99999999999999999999999", "-1"):
            url = f"/customer/admin-requests/{request_id}/consent?customer_number={NUMBER}"
            assert http.post(url, data=data).status_code in (302, 400, 403, 404)
