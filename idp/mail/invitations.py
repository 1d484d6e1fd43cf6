"""Mails about joining a customer account: the invitation an administrator sends
("Einladung zum Portal") and the notice to administrators that a new member waits
for activation."""

from __future__ import annotations

from flask import current_app, has_request_context

from idp.mail import issuer_url, outbox
from idp.store import CustomerAccount, User


def invitation_link(token: str) -> str:
    """The absolute link, also outside a request (service tests, the CLI)."""
    if has_request_context():
        return issuer_url("invitation.show", token=token)
    path = current_app.url_map.bind("localhost").build("invitation.show", {"token": token})
    return str(current_app.config["IDP"].issuer).rstrip("/") + path


def send_invitation(
    email: str,
    token: str,
    *,
    account: CustomerAccount,
    inviter: User,
    salutation: str,
    given_name: str,
    family_name: str,
    days: int,
    locale: str | None,
) -> None:
    """ "Einladung zum Portal": the single-use link to the pre-filled registration,
    naming the customer portal (``branding.portal_name``) the invitation is to."""
    outbox.queue(
        "invitation",
        email,
        locale,
        portal_name=current_app.config["IDP"].branding.portal_name.strip(),
        link=invitation_link(token),
        days=days,
        salutation=salutation,
        given_name=given_name,
        family_name=family_name,
        customer_name=account.name,
        inviter_name=inviter.display_name,
    )


def send_membership_pending(admin: User, member: User, account: CustomerAccount) -> None:
    """To each active administrator: someone joined and waits for activation.
    Links to the portal's user management when one is configured."""
    template = current_app.config["IDP"].branding.portal_users_url
    users_url = template.replace("{customer_number}", account.customer_number) if template else ""
    outbox.queue(
        "membership_pending",
        admin.email,
        admin.locale,
        member_name=member.display_name,
        member_email=member.email,
        customer_name=account.name,
        customer_number=account.customer_number,
        users_url=users_url,
    )
