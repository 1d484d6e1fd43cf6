"""The operator's side of admin requests: the /operator/ page (operators only) and
``idp admin-requests list|approve|reject`` / ``idp users operator``."""

from __future__ import annotations

import html

import pytest
from sqlalchemy import select

from idp import accounts
from idp.credentials import totp
from idp.orgs import admin_requests, service
from idp.store import AdminRequest, AuditEvent, Membership, User, db
from tests.flows.test_login import PASSWORD, post_login
from tests.flows.test_mfa_totp import code_at, enrol_totp, post_code
from tests.oidc.test_customer_claims import all_claims
from tests.support.oidc import csrf_token

NUMBER = "447712782"
CUSTOMERS = [
    {"customer_number": NUMBER, "name": "Bäckerei Schmidt GmbH", "country": "DE",
     "product_line": "sage50"},
]  # fmt: skip


@pytest.fixture
def member(user) -> Membership:
    assert not service.import_customers(CUSTOMERS).errors
    membership = service.join_by_customer_number(user, NUMBER)
    db.session.commit()
    return membership


def new_user(email: str, *, operator: bool = False) -> User:
    user = accounts.create_user(email, PASSWORD, given_name="Olga", email_verified=True)
    user.is_operator = operator
    db.session.commit()
    return user


def add_authenticator(user: User) -> str:
    """An authenticator app for ``user``; returns its key."""
    credential, secret = totp.begin_enrolment(user)
    totp.confirm(user, credential.id, code_at(secret))
    db.session.commit()
    return secret


def sign_in_with_app(browser, email: str, secret: str, password: str = PASSWORD):
    """Password, then the app's code; returns where the challenge sends the browser."""
    assert post_login(browser, email, password).headers["Location"] == "/mfa/"
    page = browser.get("/mfa/totp/challenge")
    return post_code(browser, page, code_at(secret, 1))


@pytest.fixture
def ops(web):
    """A browser signed in as an operator, with a second factor."""
    operator = new_user("ops@example.com", operator=True)
    browser = web.test_client()
    secret = add_authenticator(operator)
    assert sign_in_with_app(browser, operator.email, secret).status_code == 302
    return browser


def open_request(member: Membership) -> AdminRequest:
    request = admin_requests.request_admin(member, reason="Ich leite das Büro.")
    db.session.commit()
    return request


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def reload(obj):
    db.session.expire_all()
    return db.session.get(type(obj), obj.id)


# -- access -------------------------------------------------------------------------------
def test_visitors_go_to_login_and_non_operators_get_403(client, user):
    response = client.get("/operator/")
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    post_login(client, user.email, PASSWORD)
    response = client.get("/operator/")
    assert response.status_code == 403 and "Keine Berechtigung" in text(response)
    token = csrf_token(client.get("/account/"))
    response = client.post("/operator/admin-requests/1", data={"csrf_token": token})
    assert response.status_code == 403


# -- a second factor ----------------------------------------------------------------------
STEP_UP = "Die Seiten für Betreiber erfordern eine Anmeldung mit zweitem Faktor."


def test_an_operator_with_the_password_alone_must_confirm_a_second_factor(web, member):
    """Approving makes someone an administrator: the password alone is not enough.
    An operator whose session has no second factor is challenged and comes back."""
    operator = new_user("ops@example.com", operator=True)
    browser = web.test_client()
    assert post_login(browser, operator.email, PASSWORD).headers["Location"] == "/account/"
    secret = add_authenticator(operator)  # set up after signing in: the session has none
    request = open_request(member)

    response = browser.get("/operator/")
    assert response.status_code == 302 and response.headers["Location"] == "/mfa/"
    token = csrf_token(browser.get("/account/"))
    response = browser.post(
        f"/operator/admin-requests/{request.id}", data={"csrf_token": token, "decision": "approve"}
    )
    assert response.status_code == 302 and response.headers["Location"] == "/mfa/"
    assert reload(request).status == "pending" and reload(member).role == "employee"

    challenge = browser.get("/mfa/totp/challenge")
    assert STEP_UP in text(challenge)
    response = post_code(browser, challenge, code_at(secret, 1))
    assert response.headers["Location"] == "/operator/"
    assert f'id="admin-request-{request.id}"' in text(browser.get("/operator/"))


def test_an_operator_without_a_second_factor_sets_one_up_first(web):
    operator = new_user("ops@example.com", operator=True)
    browser = web.test_client()
    post_login(browser, operator.email, PASSWORD)
    response = browser.get("/operator/")
    assert response.headers["Location"] == "/mfa/setup"
    assert STEP_UP in text(browser.get("/mfa/setup"))
    _secret, _recovery, response = enrol_totp(browser)
    assert response.headers["Location"] == "/operator/"
    assert browser.get("/operator/").status_code == 200


@pytest.mark.config(security={"operator_requires_mfa": False})
def test_the_second_factor_can_be_switched_off(web):
    new_user("ops@example.com", operator=True)
    browser = web.test_client()
    post_login(browser, "ops@example.com", PASSWORD)
    assert browser.get("/operator/").status_code == 200


# -- the page -----------------------------------------------------------------------------
def test_operator_sees_pending_requests_only_after_consent(ops, member, user):
    chef = new_user("chef@example.de")
    admin_membership = service.join_by_customer_number(chef, NUMBER)
    admin_membership.role, admin_membership.status = "admin", "active"
    db.session.commit()
    request = open_request(member)
    assert request.status == "awaiting_consent"
    assert "Zurzeit wartet kein Antrag auf Ihre Entscheidung." in text(ops.get("/operator/"))

    admin_requests.consent(request.id, member.customer_account, actor=chef)
    db.session.commit()
    page = text(ops.get("/operator/"))
    assert f'id="admin-request-{request.id}"' in page
    assert "anna.schmidt@example.de" in page and "Bäckerei Schmidt GmbH" in page
    assert "von Olga" in page and "Ich leite das Büro." in page


def test_each_rows_controls_name_the_requester(ops, member):
    """Every row has the same buttons and note field; screen readers hear whose."""
    open_request(member)
    page = text(ops.get("/operator/"))
    assert 'aria-label="Anna Schmidt als Administrator freischalten"' in page
    assert 'aria-label="Antrag von Anna Schmidt ablehnen"' in page
    assert '<span class="sr-only"> zum Antrag von Anna Schmidt</span></label>' in page


def test_operator_approves_with_a_note(ops, member, user, mailbox):
    request = open_request(member)
    page = ops.get("/operator/")
    assert f'label for="note-{request.id}"' in page.get_data(as_text=True)
    response = ops.post(
        f"/operator/admin-requests/{request.id}",
        data={"csrf_token": csrf_token(page), "decision": "approve", "note": "Willkommen"},
    )
    assert response.status_code == 302 and response.headers["Location"] == "/operator/"
    assert "anna.schmidt@example.de ist jetzt Administrator." in text(ops.get("/operator/"))
    assert (reload(member).role, reload(member).status) == ("admin", "active")
    assert reload(request).decided_by == "ops@example.com"
    mail = mailbox.last(user.email)
    assert mail["Subject"] == "Sie sind jetzt Administrator von Bäckerei Schmidt GmbH"
    assert "Anmerkung: Willkommen" in mailbox.text(mail)


def test_operator_rejects(ops, member, user, mailbox):
    request = open_request(member)
    page = ops.get("/operator/")
    ops.post(
        f"/operator/admin-requests/{request.id}",
        data={"csrf_token": csrf_token(page), "decision": "reject", "note": "Vollmacht fehlt"},
    )
    assert "Der Antrag von anna.schmidt@example.de wurde abgelehnt." in text(ops.get("/operator/"))
    assert reload(request).status == "rejected" and reload(member).role == "employee"
    assert "Vollmacht fehlt" in mailbox.text(mailbox.last(user.email))
    again = ops.post(
        f"/operator/admin-requests/{request.id}",
        data={"csrf_token": csrf_token(page), "decision": "approve"},
    )
    assert again.status_code == 302
    assert "Dieser Antrag wartet nicht auf eine Entscheidung." in text(ops.get("/operator/"))
    assert reload(member).role == "employee"


@pytest.mark.parametrize(
    ("path", "form", "status"),
    [
        ("/operator/admin-requests/{id}", {"decision": "approve"}, 400),  # no CSRF token
        ("/operator/admin-requests/{id}", {"decision": "promote", "csrf": 1}, 400),
        ("/operator/admin-requests/4242", {"decision": "approve", "csrf": 1}, 404),
        ("/operator/admin-requests/99999999999999999999", {"decision": "reject", "csrf": 1}, 404),
        (
            "/operator/admin-requests/{id}",
            {"decision": "approve", "note": "x" * 2001, "csrf": 1},
            400,
        ),
    ],
)
def test_bad_decisions_change_nothing(ops, member, path, form, status):
    form = dict(form)  # the parameters are shared by both database backends
    request = open_request(member)
    if form.pop("csrf", None):
        form["csrf_token"] = csrf_token(ops.get("/operator/"))
    response = ops.post(path.format(id=request.id), data=form)
    assert response.status_code == status
    assert reload(request).status == "pending" and reload(member).role == "employee"


# -- command line -------------------------------------------------------------------------
def test_users_operator_grants_and_revokes(idp_cli, user):
    assert "anna.schmidt@example.de is an operator" in idp_cli("users", "operator", user.email)
    assert reload(user).is_operator
    out = idp_cli("users", "operator", user.email, "--revoke")
    assert "is no longer an operator" in out and not reload(user).is_operator
    idp_cli("users", "operator", "nobody@example.de", ok=False)
    db.session.expire_all()
    tags = db.session.scalars(
        select(AuditEvent.tag).where(AuditEvent.user_id == user.id).order_by(AuditEvent.id)
    ).all()
    assert tags[-2:] == ["operator.granted", "operator.revoked"]


def test_cli_lists_and_rejects(idp_cli, member, user, mailbox):
    request = open_request(member)
    listing = idp_cli("admin-requests", "list")
    assert f"{request.id}\t" in listing and "\t447712782\tBäckerei Schmidt GmbH\t" in listing
    assert "\tanna.schmidt@example.de\t-\tIch leite das Büro." in listing
    out = idp_cli("admin-requests", "reject", str(request.id), "--note", "Bitte Vollmacht")
    assert "rejected" in out and reload(request).decided_by == "cli"
    assert "Bitte Vollmacht" in mailbox.text(mailbox.last(user.email))
    assert idp_cli("admin-requests", "list") == ""
    assert "wartet nicht" in idp_cli("admin-requests", "approve", str(request.id), ok=False)
    assert "no admin request 4242" in idp_cli("admin-requests", "approve", "4242", ok=False)


def test_requests_of_deleted_accounts_are_left_out(idp_cli, ops, member, user):
    """Erasure withdraws open requests; one left over neither shows nor breaks a page."""
    request = open_request(member)
    user.status = "deleted"
    db.session.commit()
    assert idp_cli("admin-requests", "list") == ""
    page = ops.get("/operator/")
    assert page.status_code == 200 and f'id="admin-request-{request.id}"' not in text(page)
    response = ops.post(
        f"/operator/admin-requests/{request.id}",
        data={"csrf_token": csrf_token(ops.get("/account/")), "decision": "approve"},
    )
    assert response.status_code == 404 and reload(member).role == "employee"


def test_request_approved_by_cli_shows_as_admin_role_at_the_next_token(
    idp_cli, client, user, member, portal, mailbox
):
    """The whole path: the member applies on the page, the operator approves on the
    command line, and the relying party's next refresh carries role admin."""
    tokens = portal.tokens_for(user.email, PASSWORD, scope="openid customer")
    assert {c["role"] for c in all_claims(client, tokens)} == {"employee"}
    url = f"/customer/admin-request?customer_number={NUMBER}"
    page = client.get(url)
    client.post(url, data={"csrf_token": csrf_token(page), "accept_duties": "y"})
    [request] = admin_requests.pending_requests()
    assert f"{request.id}\t" in idp_cli("admin-requests", "list")

    assert "approved" in idp_cli("admin-requests", "approve", str(request.id))
    assert mailbox.last(user.email)["Subject"].startswith("Sie sind jetzt Administrator")
    refreshed = portal.refresh(tokens["refresh_token"]).json
    for claims in all_claims(client, refreshed):
        assert (claims["role"], claims["membership_status"]) == ("admin", "active")


def test_demo_seed_creates_an_operator_who_gets_in(app, web):
    """The demo operator has an authenticator app; the banner prints its key."""
    from idp import demo

    secret = demo.seed().operator_totp_secret
    assert len(secret) == 32 and demo.seed().operator_totp_secret == secret  # idempotent
    assert accounts.find_by_email(demo.DEMO_OPERATOR_EMAIL).is_operator
    assert not accounts.find_by_email(demo.DEMO_EMAIL).is_operator
    banner = demo.banner(demo.seed(), "http://localhost")
    assert demo.DEMO_OPERATOR_PASSWORD in banner and secret in banner
    browser = web.test_client()
    response = sign_in_with_app(
        browser, demo.DEMO_OPERATOR_EMAIL, secret, demo.DEMO_OPERATOR_PASSWORD
    )
    assert response.status_code == 302
    assert browser.get("/operator/").status_code == 200
