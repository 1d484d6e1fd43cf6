"""The administration API (/api/v1) through HTTP, with access tokens obtained
through the code flow: every operation, authentication, tenant isolation,
validation and mass assignment."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from idp import accounts
from idp.mail import outbox
from idp.oidc import clients
from idp.orgs import admin_requests, service
from idp.orgs import api as admin_api
from idp.store import AdminRequest, Membership, Token, User, db
from tests.support.oidc import RelyingParty

PASSWORD = "Korrekt-Pferd-Batterie-1"
A, B = "447712782", "261973069"
SECRET = "admin-portal-secret-0123456789abcdef"
REDIRECT = "https://portal.example/cb"
CUSTOMERS = [
    {"customer_number": A, "name": "Bäckerei Schmidt GmbH", "country": "DE",
     "product_line": "sage50"},
    {"customer_number": B, "name": "Müller & Söhne KG", "country": "AT",
     "product_line": "sage100"},
]  # fmt: skip


@dataclass
class Tenants:
    """Customer A: Anna (admin), Bernd (employee); customer B: Clara (admin),
    Dieter (employee)."""

    anna: User
    bernd: User
    clara: User
    dieter: User

    def membership(self, user: User, number: str = A) -> Membership:
        account = service.find_customer(number)
        assert account is not None
        found = service.membership_in(user, account)
        assert found is not None
        return found


def person(email: str, given: str, family: str, password: str | None = PASSWORD) -> User:
    return accounts.create_user(
        email, password, given_name=given, family_name=family, email_verified=True
    )


def join(user: User, number: str, role: str = "employee", status: str = "active", **kw: Any):
    account = service.find_customer(number)
    assert account is not None
    membership = Membership(
        user_id=user.id,
        customer_account_id=account.id,
        role=role,
        status=status,
        permissions=kw.get("permissions", []),
    )
    db.session.add(membership)
    db.session.flush()
    return membership


@pytest.fixture
def tenants(app: Flask) -> Tenants:
    assert not service.import_customers(CUSTOMERS).errors
    people = Tenants(
        anna=person("anna@schmidt.example", "Anna", "Schmidt"),
        bernd=person("bernd@schmidt.example", "Bernd", "Becker"),
        clara=person("clara@mueller.example", "Clara", "Müller", None),
        dieter=person("dieter@mueller.example", "Dieter", "Dorn", None),
    )
    join(people.anna, A, "admin")
    join(people.bernd, A, permissions=["licenses"])
    join(people.clara, B, "admin")
    join(people.dieter, B)
    db.session.commit()
    return people


@pytest.fixture
def admin_portal(app: Flask) -> Any:
    client, _ = clients.register(
        name="Portal",
        client_id="admin-portal",
        secret=SECRET,
        redirect_uris=[REDIRECT],
        grant_types=["authorization_code", "refresh_token", "client_credentials"],
        scopes="openid profile email customer customer_admin",
        first_party=True,
    )
    db.session.commit()
    return client


def token_for(web: Flask, email: str, scope: str = "openid customer_admin") -> str:
    """An access token from the code flow, in a browser of its own."""
    rp = RelyingParty(web.test_client(), "admin-portal", SECRET, REDIRECT)
    return str(rp.tokens_for(email, PASSWORD, scope=scope)["access_token"])


class Api:
    def __init__(self, web: Flask, token: str | None) -> None:
        self.http = web.test_client()
        self.token = token

    def __call__(self, method: str, path: str, **kw: Any) -> Any:
        headers = kw.pop("headers", {})
        if self.token is not None:
            headers.setdefault("Authorization", "Bearer " + self.token)
        return self.http.open("/api/v1" + path, method=method, headers=headers, **kw)


@pytest.fixture
def api(web: Flask, tenants: Tenants, admin_portal: Any) -> Api:
    """Anna, administrator of customer A."""
    return Api(web, token_for(web, tenants.anna.email))


def user_path(user: User, number: str = A) -> str:
    return f"/customers/{number}/users/{user.sub}"


def refreshed(membership: Membership) -> Membership:
    db.session.expire_all()
    found = db.session.get(Membership, membership.id)
    assert found is not None
    return found


# -- the document ------------------------------------------------------------------
def test_the_openapi_document_is_public_and_describes_every_operation(web):
    response = web.test_client().get("/api/v1/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    doc = response.json
    assert doc["openapi"].startswith("3.1")
    assert doc["servers"] == [{"url": "http://localhost/api/v1"}]
    scheme = doc["components"]["securitySchemes"]["bearerAuth"]
    assert scheme["type"] == "http" and scheme["scheme"] == "bearer"
    assert doc["security"] == [{"bearerAuth": ["customer_admin"]}]
    routes = {
        (method, re.sub(r"<(?:int:)?(\w+)>", r"{\1}", rule.rule.removeprefix("/api/v1")))
        for rule in web.url_map.iter_rules()
        if rule.rule.startswith("/api/v1/")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    described = {(m.upper(), path) for path, ops in doc["paths"].items() for m in ops}
    assert routes == described
    assert len(described) == len(admin_api.OPERATIONS) == 16
    for path, ops in doc["paths"].items():
        for op in ops.values():
            assert op["operationId"] and op["summary"] and op["responses"]
            if path != "/openapi.json":
                assert {"401", "403"} <= set(op["responses"])
    body = doc["paths"]["/customers/{customer_number}/users/{user_id}/permissions"]["put"]
    schema = doc["components"]["schemas"]["PermissionsBody"]
    assert body["requestBody"]["required"] is True
    assert schema["additionalProperties"] is False
    [per_page] = [
        p
        for p in doc["paths"]["/customers/{customer_number}/users"]["get"]["parameters"]
        if p["name"] == "per_page"
    ]
    assert doc["components"]["schemas"]["PerPage"]["enum"] == [10, 25, 50, 100]
    assert per_page["in"] == "query" and per_page["required"] is False


def test_discovery_announces_the_customer_admin_scope(web):
    meta = web.test_client().get("/.well-known/openid-configuration").json
    assert "customer_admin" in meta["scopes_supported"]


# -- happy paths ---------------------------------------------------------------------
def test_the_permission_catalogue_is_labelled_in_the_requested_language(api):
    response = api("GET", "/permissions", headers={"Accept-Language": "de-DE,de;q=0.9"})
    assert response.status_code == 200
    assert response.headers["Content-Language"] == "de"
    assert response.headers["Cache-Control"] == "no-store"
    by_code = {p["code"]: p for p in response.json}
    assert by_code["licenses"] == {
        "code": "licenses",
        "label": "Meine Lizenzen",
        "description": "Einsicht in meine Lizenzen",
        "group": "Meine Daten",
    }
    assert by_code["cloud_orders"]["group"] is None
    english = api("GET", "/permissions", headers={"Accept-Language": "en-GB,en;q=0.8"})
    assert english.status_code == 200 and english.headers["Content-Language"] == "en"
    assert [p["code"] for p in english.json] == list(by_code)


def test_the_customer_account(api):
    response = api("GET", f"/customers/{A}")
    assert response.status_code == 200
    assert response.json == {
        "customer_number": A,
        "name": "Bäckerei Schmidt GmbH",
        "country": "DE",
        "product_line": "sage50",
    }


def test_users_are_listed_searched_and_paged(api, tenants):
    for n in range(11):
        join(person(f"kollege{n:02}@schmidt.example", "Kollege", f"Zeh{n:02}", None), A)
    db.session.commit()
    first = api("GET", f"/customers/{A}/users")
    assert first.status_code == 200
    assert (first.json["total"], first.json["page"], first.json["per_page"]) == (13, 1, 10)
    assert [u["family_name"] for u in first.json["items"][:2]] == ["Becker", "Schmidt"]
    second = api("GET", f"/customers/{A}/users", query_string={"page": 2, "per_page": 10})
    assert [u["family_name"] for u in second.json["items"]] == ["Zeh08", "Zeh09", "Zeh10"]
    found = api("GET", f"/customers/{A}/users", query_string={"search": "becker"})
    assert found.json["total"] == 1
    assert found.json["items"] == [
        {
            "id": tenants.bernd.sub,
            "salutation": None,
            "given_name": "Bernd",
            "family_name": "Becker",
            "name": "Bernd Becker",
            "email": "bernd@schmidt.example",
            "last_login_at": None,
            "status": "active",
            "role": "employee",
            "permissions": ["licenses"],
        }
    ]
    everyone = api("GET", f"/customers/{A}/users", query_string={"per_page": "100"})
    assert len(everyone.json["items"]) == 13


def test_one_user_with_the_last_login(api, tenants):
    response = api("GET", user_path(tenants.anna))
    assert response.status_code == 200
    assert response.json["role"] == "admin" and response.json["id"] == tenants.anna.sub
    assert response.json["last_login_at"].startswith("20")  # signed in for the token


def test_permissions_are_saved_as_a_whole(api, tenants):
    bernd = tenants.membership(tenants.bernd)
    response = api(
        "PUT",
        user_path(tenants.bernd) + "/permissions",
        json={"permissions": ["shop", "documents"]},
    )
    assert response.status_code == 200
    assert response.json["permissions"] == ["documents", "shop"]
    assert refreshed(bernd).permissions == ["documents", "shop"]
    log = api("GET", user_path(tenants.bernd) + "/changelog").json
    assert log["items"][0]["category"] == "Berechtigungen geändert"
    assert log["items"][0]["actor"] == "Anna Schmidt"


def test_an_unknown_permission_is_refused_and_nothing_changes(api, tenants):
    response = api(
        "PUT", user_path(tenants.bernd) + "/permissions", json={"permissions": ["shop", "root"]}
    )
    assert response.status_code == 422
    assert response.json["error"] == "validation_error"
    assert "root" in response.json["fields"]["permissions"][0]
    assert refreshed(tenants.membership(tenants.bernd)).permissions == ["licenses"]


def test_lock_revokes_the_users_tokens_and_unlock_lets_them_back(web, api, tenants):
    bernds_token = token_for(web, tenants.bernd.email, "openid")
    userinfo = web.test_client().get(
        "/userinfo", headers={"Authorization": "Bearer " + bernds_token}
    )
    assert userinfo.status_code == 200
    locked = api("POST", user_path(tenants.bernd) + "/lock")
    assert locked.status_code == 200 and locked.json["status"] == "locked"
    userinfo = web.test_client().get(
        "/userinfo", headers={"Authorization": "Bearer " + bernds_token}
    )
    assert userinfo.status_code == 401
    again = api("POST", user_path(tenants.bernd) + "/lock")
    assert again.status_code == 409 and again.json["error"] == "conflict"
    unlocked = api("POST", user_path(tenants.bernd) + "/unlock", json={})
    assert unlocked.status_code == 200 and unlocked.json["status"] == "active"
    categories = [
        e["category"] for e in api("GET", user_path(tenants.bernd) + "/changelog").json["items"]
    ]
    assert categories[:2] == ["Benutzer entsperrt", "Benutzer gesperrt"]


def test_an_administrator_cannot_lock_or_remove_themselves(api, tenants):
    for method, suffix in (("POST", "/lock"), ("DELETE", "")):
        response = api(method, user_path(tenants.anna) + suffix)
        assert response.status_code == 409, suffix
        assert response.json["message"]
    assert refreshed(tenants.membership(tenants.anna)).status == "active"


def test_a_pending_user_is_activated(api, tenants):
    pending = join(person("neu@schmidt.example", "Nora", "Neu", None), A, status="pending")
    db.session.commit()
    user = db.session.get(User, pending.user_id)
    response = api("POST", user_path(user) + "/activate")
    assert response.status_code == 200 and response.json["status"] == "active"
    assert api("POST", user_path(user) + "/activate").status_code == 409


def test_a_removed_user_is_gone(api, tenants):
    membership_id = tenants.membership(tenants.bernd).id
    response = api("DELETE", user_path(tenants.bernd))
    assert response.status_code == 204 and response.data == b""
    assert "Content-Type" not in response.headers
    assert api("GET", user_path(tenants.bernd)).status_code == 404
    db.session.expire_all()
    assert db.session.get(Membership, membership_id) is None


def test_an_administrator_resigns_unless_they_are_the_last(web, api, tenants):
    last = api("POST", user_path(tenants.anna) + "/resign")
    assert last.status_code == 409
    second = join(person("zweite@schmidt.example", "Zora", "Zweit"), A, "admin")
    db.session.commit()
    zora = db.session.get(User, second.user_id)
    not_own = api("POST", user_path(zora) + "/resign")
    assert not_own.status_code == 403 and not_own.json["error"] == "forbidden"
    response = api("POST", user_path(tenants.anna) + "/resign")
    assert response.status_code == 200 and response.json["role"] == "employee"
    after = api("GET", f"/customers/{A}")
    assert after.status_code == 403 and after.json["error"] == "forbidden"


def test_an_invitation_is_mailed(api, tenants, mailbox):
    response = api(
        "POST",
        f"/customers/{A}/invitations",
        json={
            "salutation": "frau",
            "given_name": "Ina",
            "family_name": "Neu",
            "email": "Ina.Neu@Schmidt.example",
            "accept_terms": True,
            "permissions": ["licenses"],
        },
    )
    assert response.status_code == 201, response.json
    assert response.json["email"] == "ina.neu@schmidt.example"
    assert response.json["expires_at"].startswith("20")
    outbox.deliver_due()
    assert mailbox.last("ina.neu@schmidt.example")


def test_an_invitation_for_a_member_conflicts(api, tenants):
    body = {
        "salutation": "",
        "given_name": "Bernd",
        "family_name": "Becker",
        "email": tenants.bernd.email,
        "accept_terms": True,
        "permissions": [],
    }
    response = api("POST", f"/customers/{A}/invitations", json=body)
    assert response.status_code == 409 and response.json["error"] == "conflict"


def test_an_invitation_needs_the_terms_accepted(api, tenants):
    body = {
        "salutation": "herr",
        "given_name": "Ingo",
        "family_name": "Neu",
        "email": "ingo@schmidt.example",
        "accept_terms": False,
    }
    response = api("POST", f"/customers/{A}/invitations", json=body)
    assert response.status_code == 422
    assert response.json["fields"] == {
        "accept_terms": ["Bitte akzeptieren Sie die Nutzungsbedingungen."]
    }


def test_admin_requests_await_consent_and_are_consented(api, tenants, mailbox):
    request = admin_requests.request_admin(tenants.membership(tenants.bernd), reason="Vertretung")
    db.session.commit()
    listed = api("GET", f"/customers/{A}/admin-requests")
    assert listed.status_code == 200
    [item] = listed.json
    assert item["id"] == request.id and item["reason"] == "Vertretung"
    assert item["user"]["id"] == tenants.bernd.sub and item["created_at"].startswith("20")
    response = api("POST", f"/customers/{A}/admin-requests/{request.id}/consent")
    assert response.status_code == 204
    db.session.expire_all()
    assert db.session.get(AdminRequest, request.id).status == "pending"
    assert api("GET", f"/customers/{A}/admin-requests").json == []
    again = api("POST", f"/customers/{A}/admin-requests/{request.id}/consent")
    assert again.status_code == 409


def test_an_admin_request_can_be_declined(api, tenants, mailbox):
    request = admin_requests.request_admin(tenants.membership(tenants.bernd), reason=None)
    db.session.commit()
    response = api("POST", f"/customers/{A}/admin-requests/{request.id}/decline", json={})
    assert response.status_code == 204
    db.session.expire_all()
    assert db.session.get(AdminRequest, request.id).status == "rejected"


# -- authentication and authorisation --------------------------------------------------
def test_without_a_token_the_answer_is_401_with_a_bearer_challenge(web, tenants):
    response = Api(web, None)("GET", f"/customers/{A}")
    assert response.status_code == 401
    assert response.json["error"] == "invalid_token"
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="api"'


@pytest.mark.parametrize(
    "header", ["Bearer nonsense", "Bearer " + "a" * 9000, "Basic YTpi", "Bearer", "Bearer a.b.c"]
)
def test_a_bad_token_is_401_invalid_token(web, tenants, header):
    response = Api(web, None)("GET", f"/customers/{A}", headers={"Authorization": header})
    assert response.status_code == 401
    assert response.json["error"] == "invalid_token"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_revoked_token_is_401(web, api, tenants):
    assert api("GET", f"/customers/{A}").status_code == 200
    for row in db.session.scalars(select(Token)):
        row.revoked_at = row.issued_at
    db.session.commit()
    response = api("GET", f"/customers/{A}")
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


@pytest.mark.config(oidc={"access_token_lifetime": 1})
def test_an_expired_token_is_401(web, tenants, admin_portal):
    token = token_for(web, tenants.anna.email)
    time.sleep(2.1)
    response = Api(web, token)("GET", f"/customers/{A}")
    assert response.status_code == 401 and response.json["error"] == "invalid_token"


def test_a_token_without_a_user_is_401(web, tenants, admin_portal):
    rp = RelyingParty(web.test_client(), "admin-portal", SECRET, REDIRECT)
    token = rp.token(grant_type="client_credentials", scope="customer_admin").json
    assert "customer_admin" in token["scope"]
    response = Api(web, token["access_token"])("GET", "/permissions")
    assert response.status_code == 401 and response.json["error"] == "invalid_token"


def test_a_token_without_the_scope_is_403_insufficient_scope(web, tenants, admin_portal):
    token = token_for(web, tenants.anna.email, "openid customer")
    response = Api(web, token)("GET", f"/customers/{A}")
    assert response.status_code == 403
    assert response.json["error"] == "insufficient_scope"
    assert 'scope="customer_admin"' in response.headers["WWW-Authenticate"]


def test_a_member_who_is_no_admin_is_403(web, tenants, admin_portal):
    member = Api(web, token_for(web, tenants.bernd.email))
    for path in (f"/customers/{A}", f"/customers/{A}/users", user_path(tenants.anna) + "/lock"):
        method = "POST" if path.endswith("lock") else "GET"
        response = member(method, path)
        assert response.status_code == 403, path
        assert response.json["error"] == "forbidden"
    assert refreshed(tenants.membership(tenants.anna)).status == "active"


@pytest.mark.parametrize("status", ["locked", "pending"])
def test_an_admin_whose_membership_is_not_active_is_403(web, api, tenants, status):
    tenants.membership(tenants.anna).status = status
    db.session.commit()
    response = api("GET", f"/customers/{A}/users")
    assert response.status_code == 403 and response.json["error"] == "forbidden"


# -- tenant isolation: customer B's numbers, users and requests are not there -------
def request_for(op: Any, number: str, sub: str, request_id: int) -> dict[str, Any]:
    path = (
        op.path.replace("{customer_number}", number)
        .replace("{user_id}", sub)
        .replace("{request_id}", str(request_id))
    )
    body: dict[str, Any] | None = None
    if op.operation_id == "set_permissions":
        body = {"permissions": ["shop"]}
    elif op.operation_id == "invite":
        body = {
            "salutation": "frau",
            "given_name": "Ina",
            "family_name": "Neu",
            "email": "ina@mueller.example",
            "accept_terms": True,
            "permissions": [],
        }
    return {"method": op.method, "path": path, "json": body}


PROTECTED = [op for op in admin_api.OPERATIONS if not op.public]
IN_B = [op for op in PROTECTED if "{customer_number}" in op.path]
B_USERS = [op for op in PROTECTED if "{user_id}" in op.path]
B_REQUESTS = [op for op in PROTECTED if "{request_id}" in op.path]


@pytest.fixture
def b_request(tenants) -> AdminRequest:
    request = admin_requests.request_admin(tenants.membership(tenants.dieter, B), reason=None)
    db.session.commit()
    return request


def unchanged_b(tenants, b_request) -> None:
    db.session.expire_all()
    dieter = tenants.membership(tenants.dieter, B)
    assert (dieter.status, dieter.role, dieter.permissions) == ("active", "employee", [])
    assert db.session.get(AdminRequest, b_request.id).status == "awaiting_consent"
    assert tenants.membership(tenants.clara, B).role == "admin"


@pytest.mark.parametrize("op", IN_B, ids=lambda op: op.operation_id)
def test_another_customer_account_is_not_found(api, tenants, b_request, op):
    response = api(**request_for(op, B, tenants.dieter.sub, b_request.id))
    assert response.status_code == 404, response.json
    assert response.json["error"] == "not_found"
    unchanged_b(tenants, b_request)


@pytest.mark.parametrize("op", B_USERS, ids=lambda op: op.operation_id)
@pytest.mark.parametrize("who", ["dieter", "clara"])
def test_users_of_another_customer_account_are_not_found(api, tenants, b_request, op, who):
    response = api(**request_for(op, A, getattr(tenants, who).sub, b_request.id))
    assert response.status_code == 404, response.json
    unchanged_b(tenants, b_request)


@pytest.mark.parametrize("op", B_REQUESTS, ids=lambda op: op.operation_id)
def test_admin_requests_of_another_customer_account_are_not_found(api, tenants, b_request, op):
    response = api(**request_for(op, A, "", b_request.id))
    assert response.status_code == 404, response.json
    unchanged_b(tenants, b_request)


def test_isolation_covers_every_operation():
    covered = {op.operation_id for op in IN_B}
    assert covered == {op.operation_id for op in PROTECTED} - {"permissions"}
    assert {op.operation_id for op in B_USERS} >= {"get_user", "delete_user", "lock_user"}


# -- validation and mass assignment ---------------------------------------------------
@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"per_page": 11}, "per_page"),
        ({"per_page": "zehn"}, "per_page"),
        ({"page": 0}, "page"),
        ({"page": "eins"}, "page"),
        ({"search": "x" * 101}, "search"),
        ({"sort": "email"}, "sort"),
    ],
)
def test_bad_query_parameters_are_422_with_the_field_name(api, tenants, query, field):
    for path in (f"/customers/{A}/users", user_path(tenants.bernd) + "/changelog"):
        response = api("GET", path, query_string=query)
        assert response.status_code == 422, (path, response.json)
        assert response.json["error"] == "validation_error"
        assert list(response.json["fields"]) == [field]


def test_field_messages_say_what_is_allowed(api, tenants):
    response = api("GET", f"/customers/{A}/users", query_string={"per_page": 20, "x": 1})
    assert response.json["fields"] == {
        "per_page": ["Erlaubt sind 10, 25, 50 oder 100 Einträge pro Seite."],
        "x": ["Unbekanntes Feld."],
    }


def test_a_repeated_query_parameter_is_422(api, tenants):
    response = api("GET", f"/customers/{A}/users?page=1&page=2")
    assert response.status_code == 422
    assert response.json["fields"] == {"page": ["Nur einmal erlaubt."]}


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"permissions": ["shop"], "role": "admin"}, {"role"}),
        ({"permissions": ["shop"], "status": "active", "customer_account_id": 2},
         {"status", "customer_account_id"}),
        ({"permissions": "shop"}, {"permissions"}),
        ({"permissions": [1, 2]}, {"permissions"}),
        ({}, {"permissions"}),
        ([], {"body"}),
    ],
)  # fmt: skip
def test_permission_bodies_set_nothing_but_permissions(api, tenants, body, fields):
    response = api("PUT", user_path(tenants.bernd) + "/permissions", json=body)
    assert response.status_code == 422, response.json
    assert set(response.json["fields"]) == fields
    bernd = refreshed(tenants.membership(tenants.bernd))
    assert (bernd.role, bernd.status, bernd.permissions) == ("employee", "active", ["licenses"])


@pytest.mark.parametrize("action", ["lock", "unlock", "activate", "resign"])
def test_actions_take_no_fields(api, tenants, action):
    response = api("POST", user_path(tenants.bernd) + f"/{action}", json={"role": "admin"})
    assert response.status_code == 422
    assert response.json["fields"] == {"role": ["Unbekanntes Feld."]}
    bernd = refreshed(tenants.membership(tenants.bernd))
    assert (bernd.role, bernd.status) == ("employee", "active")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"email": "keine-adresse"}, "email"),
        ({"salutation": "Frau"}, "salutation"),
        ({"given_name": "  "}, "given_name"),
        ({"family_name": "x" * 101}, "family_name"),
        ({"permissions": ["root"]}, "permissions"),
        ({"accept_terms": "yes"}, "accept_terms"),
        ({"role": "admin"}, "role"),
    ],
)
def test_bad_invitations_are_422_with_the_field_name(api, tenants, mailbox, change, field):
    body = {
        "salutation": "frau",
        "given_name": "Ina",
        "family_name": "Neu",
        "email": "ina@schmidt.example",
        "accept_terms": True,
        "permissions": [],
        **change,
    }
    response = api("POST", f"/customers/{A}/invitations", json=body)
    assert response.status_code == 422, response.json
    assert list(response.json["fields"]) == [field]
    outbox.deliver_due()
    assert mailbox.messages == []


def test_malformed_json_is_400_and_other_media_types_415(api, tenants):
    path = user_path(tenants.bernd) + "/permissions"
    broken = api("PUT", path, data="{permissions:", content_type="application/json")
    assert broken.status_code == 400 and broken.json["error"] == "bad_request"
    form = api("PUT", path, data={"permissions": "shop"})
    assert form.status_code == 415 and form.json["error"] == "unsupported_media_type"
    huge = api("PUT", path, data="[" * 70_000, content_type="application/json")
    assert huge.status_code == 413 and huge.json["error"] == "payload_too_large"


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/nowhere", 404),
        ("GET", "/customers", 404),
        ("GET", f"/customers/{A}/users/x%00y", 404),
        ("GET", f"/customers/{A}/users/" + "x" * 65, 404),
        ("GET", f"/customers/{A}/admin-requests/99999999999/consent", 405),
        ("POST", f"/customers/{A}/admin-requests/99999999999/consent", 404),
        ("GET", f"/customers/{A}/users?search=%00", 400),
        ("POST", "/permissions", 405),
        ("PATCH", f"/customers/{A}/users", 405),
        ("GET", "/customers/D447712782", 404),
    ],
)
def test_unknown_routes_and_methods_answer_json(api, tenants, method, path, status):
    response = api(method, path)
    assert response.status_code == status
    assert response.mimetype == "application/json"
    assert response.json["error"] and response.json["message"]
