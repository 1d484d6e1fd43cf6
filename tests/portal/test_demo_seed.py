"""The README's run command: the demo data gives the portal an administrator, an
employee and a pending member, and the demo client may call the admin API."""

from __future__ import annotations

from idp import accounts, demo
from idp.oidc.server import query_client
from idp.orgs import service


def test_demo_seed_gives_the_portal_colleagues_and_the_admin_scope(app):
    demo.seed()
    demo.seed()  # idempotent
    account = service.find_customer(demo.DEMO_CUSTOMER_NUMBER)
    people = {
        email: service.membership_in(accounts.find_by_email(email), account)
        for email in (demo.DEMO_EMAIL, demo.DEMO_EMPLOYEE_EMAIL, demo.DEMO_PENDING_EMAIL)
    }
    assert [(m.role, m.status) for m in people.values()] == [
        ("admin", "active"),
        ("employee", "active"),
        ("employee", "pending"),
    ]
    assert people[demo.DEMO_EMPLOYEE_EMAIL].permissions == ["licenses", "support_requests"]
    assert "customer_admin" in query_client(demo.DEMO_CLIENT_ID).scopes
    text = demo.banner(demo.seed(), "http://127.0.0.1:5000")
    assert demo.DEMO_EMPLOYEE_EMAIL in text and demo.DEMO_EMPLOYEE_PASSWORD in text
