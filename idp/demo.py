"""Demo data for the README's run command: the demo portal as relying party, the
sample customer accounts and legacy accounts, and in Bäckerei Schmidt GmbH an
administrator, an employee and a member waiting for approval."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from idp import accounts
from idp.audit import EventTag, record_event
from idp.oidc import clients
from idp.oidc.server import query_client

DEMO_CLIENT_ID = "demo-portal"
DEMO_CLIENT_SECRET = "demo-portal-secret-change-me"  # noqa: S105 - published demo value
DEMO_EMAIL = "demo@example.com"
DEMO_PASSWORD = "Demo-Passwort-2024"  # noqa: S105 - published demo value
DEMO_OPERATOR_EMAIL = "operator@example.com"  # approves admin requests at /operator/
DEMO_OPERATOR_PASSWORD = "Operator-Passwort-2024"  # noqa: S105 - published demo value
# The operator pages need a second factor: the demo operator has an authenticator
# app whose key the banner prints (security.operator_requires_mfa).
# Colleagues of the demo user in Bäckerei Schmidt GmbH (the portal's user management).
DEMO_EMPLOYEE_EMAIL = "max@example.com"
DEMO_EMPLOYEE_PASSWORD = "Max-Passwort-2024"  # noqa: S105 - published demo value
DEMO_PENDING_EMAIL = "paula@example.com"  # registered, waiting for "Freischalten"
DEMO_REDIRECT_URI = "http://127.0.0.1:5001/callback"
DEMO_BACKCHANNEL_LOGOUT_URI = "http://127.0.0.1:5001/backchannel-logout"
DEMO_CUSTOMER_NUMBER = "447712782"  # Bäckerei Schmidt GmbH
DEMO_DATA = Path(__file__).parent / "demo_data"


@dataclass
class DemoInfo:
    client_id: str
    client_secret: str
    redirect_uri: str
    email: str
    password: str
    operator_totp_secret: str = ""  # the demo operator's authenticator key


def seed() -> DemoInfo:
    """Idempotent: creates what is missing, changes nothing that exists (but
    gives a demo client from an older run the scope of the user management)."""
    existing = query_client(DEMO_CLIENT_ID)
    if existing is not None and "customer_admin" not in existing.scopes:
        existing.scopes = sorted({*existing.scopes, "customer_admin"})
    if existing is None:
        clients.register(
            name="Demo-Portal",
            client_id=DEMO_CLIENT_ID,
            secret=DEMO_CLIENT_SECRET,
            redirect_uris=[DEMO_REDIRECT_URI, "http://localhost:5001/callback"],
            post_logout_redirect_uris=["http://127.0.0.1:5001/", "http://localhost:5001/"],
            grant_types=["authorization_code", "refresh_token", "client_credentials"],
            first_party=True,
            backchannel_logout_uri=DEMO_BACKCHANNEL_LOGOUT_URI,
            scopes=clients.DEFAULT_SCOPES + " customer_admin",  # the portal's user management
        )
    if accounts.find_by_email(DEMO_EMAIL) is None:
        accounts.create_user(
            DEMO_EMAIL,
            DEMO_PASSWORD,
            given_name="Dana",
            family_name="Demo",
            email_verified=True,
            salutation="Frau",
            locale="de",
        )
    if accounts.find_by_email(DEMO_OPERATOR_EMAIL) is None:
        operator = accounts.create_user(
            DEMO_OPERATOR_EMAIL,
            DEMO_OPERATOR_PASSWORD,
            given_name="Otto",
            family_name="Operator",
            email_verified=True,
            locale="de",
        )
        operator.is_operator = True
    secret = seed_operator_totp()
    seed_customers()
    seed_colleagues()
    from idp.store import db

    db.session.commit()
    return DemoInfo(
        DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_REDIRECT_URI, DEMO_EMAIL, DEMO_PASSWORD, secret
    )


def seed_operator_totp() -> str:
    """An authenticator app for the demo operator (also one from an older run
    that has none), so the operator pages, which ask for a second factor, can
    be tried; returns its key for the banner ("" if it cannot be read)."""
    import pyotp

    from idp import mfa
    from idp.credentials import totp
    from idp.store import CredentialType

    operator = accounts.find_by_email(DEMO_OPERATOR_EMAIL)
    if operator is None:
        return ""
    if not mfa.has_second_factor(operator):
        credential, secret = totp.begin_enrolment(operator)
        credential.name = "Demo"
        totp.confirm(operator, credential.id, pyotp.TOTP(secret).now())
        credential.data = {}  # the current code stays usable for the first sign-in
    apps = mfa.credentials_of(operator, CredentialType.TOTP)
    return (totp.secret_of(apps[0]) or "") if apps else ""


def seed_customers() -> None:
    """The sample customer and legacy accounts (copies of the shared sample data),
    and the demo user as active administrator of Bäckerei Schmidt GmbH with every
    permission."""
    from idp.orgs import permissions, service
    from idp.store import Membership, MembershipRole, MembershipStatus, db

    for name, importer in (
        ("customers-sample.csv", service.import_customers),
        ("legacy-accounts-sample.csv", service.import_legacy_accounts),
    ):
        with (DEMO_DATA / name).open(encoding="utf-8", newline="") as handle:
            importer(list(csv.DictReader(handle)))
    user = accounts.find_by_email(DEMO_EMAIL)
    account = service.find_customer(DEMO_CUSTOMER_NUMBER)
    if user is None or account is None or service.membership_in(user, account):
        return
    db.session.add(
        Membership(
            user_id=user.id,
            customer_account_id=account.id,
            role=MembershipRole.ADMIN,
            status=MembershipStatus.ACTIVE,
            permissions=sorted(permissions.CODES),
        )
    )
    record_event(
        EventTag.MEMBERSHIP_CREATED,
        user=user,
        account=account,
        customer_number=DEMO_CUSTOMER_NUMBER,
        status=str(MembershipStatus.ACTIVE),
        via="demo",
    )
    db.session.flush()


def seed_colleagues() -> None:
    """Max (employee with "Meine Lizenzen" and "Meine Supportanfragen") and Paula
    (pending) next to the demo administrator, so every page of the portal's user
    management has something to show."""
    from idp.orgs import service
    from idp.store import Membership, MembershipRole, MembershipStatus, db

    account = service.find_customer(DEMO_CUSTOMER_NUMBER)
    if account is None:
        return
    for email, password, given, family, status, permissions in (
        (DEMO_EMPLOYEE_EMAIL, DEMO_EMPLOYEE_PASSWORD, "Max", "Mustermann",
         MembershipStatus.ACTIVE, ["licenses", "support_requests"]),
        (DEMO_PENDING_EMAIL, DEMO_EMPLOYEE_PASSWORD, "Paula", "Neumann",
         MembershipStatus.PENDING, []),
    ):  # fmt: skip
        if accounts.find_by_email(email) is not None:
            continue
        user = accounts.create_user(
            email, password, given_name=given, family_name=family, email_verified=True
        )
        db.session.add(
            Membership(
                user_id=user.id,
                customer_account_id=account.id,
                role=MembershipRole.EMPLOYEE,
                status=status,
                permissions=permissions,
            )
        )
        record_event(
            EventTag.MEMBERSHIP_CREATED,
            user=user,
            account=account,
            customer_number=DEMO_CUSTOMER_NUMBER,
            status=str(status),
            via="demo",
        )
    db.session.flush()


def banner(info: DemoInfo, issuer: str) -> str:
    return f"""
  Identity provider running at {issuer}
  Discovery:      {issuer}/.well-known/openid-configuration

  Demo user:      {info.email}  /  {info.password}
                  (administrator of customer account {DEMO_CUSTOMER_NUMBER})
  Employee:       {DEMO_EMPLOYEE_EMAIL}  /  {DEMO_EMPLOYEE_PASSWORD}
  Pending member: {DEMO_PENDING_EMAIL}  /  {DEMO_EMPLOYEE_PASSWORD}  (approve in the portal)
  Operator:       {DEMO_OPERATOR_EMAIL}  /  {DEMO_OPERATOR_PASSWORD}
                  (admin requests at {issuer}/operator/){_operator_totp(info)}
  Demo client:    {info.client_id}  /  {info.client_secret}
  Redirect URI:   {info.redirect_uri}

  Demo portal:    http://127.0.0.1:5001  (started by scripts/demo; click "Anmelden",
                  the user management is in the icon menu at the top right)
  Or sign in directly at {issuer}/login
"""


def _operator_totp(info: DemoInfo) -> str:
    if not info.operator_totp_secret:
        return ""
    return f"""
                  second factor: authenticator app key {info.operator_totp_secret}
                  (or the current code: .venv/bin/python -c
                  "import pyotp; print(pyotp.TOTP('{info.operator_totp_secret}').now())")"""
