"""Mails of customer accounts: admin requests (consent asked of the existing
administrators, the decision told to the requester) and members' messages to
their administrators ("Administrator kontaktieren")."""

from __future__ import annotations

from typing import Any

from flask import current_app, has_request_context

from idp.mail import issuer_url, outbox
from idp.store import CustomerAccount, User


def _link(endpoint: str, **values: Any) -> str:
    """``issuer_url`` also outside a request (the operator's CLI, service tests)."""
    if has_request_context():
        return issuer_url(endpoint, **values)
    path = current_app.url_map.bind("localhost").build(endpoint, values)
    return str(current_app.config["IDP"].issuer).rstrip("/") + path


def send_admin_request_consent(
    admin: User, requester: User, account: CustomerAccount, reason: str | None
) -> None:
    """To each active administrator: a member asks for administrator rights and
    the operator only sees the request once one of them agrees."""
    outbox.queue(
        "admin_request_consent",
        admin.email,
        admin.locale,
        requester_name=requester.display_name,
        requester_email=requester.email,
        customer_name=account.name,
        customer_number=account.customer_number,
        reason=reason or "",
        consent_url=_link("customer.admin_requests", customer_number=account.customer_number),
    )


def send_admin_request_decided(
    requester: User, account: CustomerAccount, *, approved: bool, note: str | None
) -> None:
    """To the requester once the request is approved or rejected (by the operator,
    or declined by an administrator of the customer account)."""
    outbox.queue(
        "admin_request_decided",
        requester.email,
        requester.locale,
        approved=approved,
        customer_name=account.name,
        customer_number=account.customer_number,
        note=note or "",
    )


def send_admin_message(
    admin: User, sender: User, account: CustomerAccount, subject: str, message: str
) -> None:
    """A member's message to one administrator; replies go straight to the member."""
    outbox.queue(
        "admin_message",
        admin.email,
        admin.locale,
        reply_to=sender.email,
        sender_name=sender.display_name,
        sender_email=sender.email,
        customer_name=account.name,
        customer_number=account.customer_number,
        message_subject=subject,
        message=message,
    )
