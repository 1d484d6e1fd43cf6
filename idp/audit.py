"""Audit events: one per security-relevant change, tags from one enum."""

from __future__ import annotations

import enum
from typing import Any

from flask import has_request_context

from idp.security.clientip import client_ip
from idp.store import AuditEvent, CustomerAccount, User, db


class EventTag(enum.StrEnum):
    USER_CREATED = "user.created"
    LOGIN_SUCCEEDED = "login.succeeded"
    LOGIN_FAILED = "login.failed"
    LOGOUT = "logout"
    CONSENT_GRANTED = "consent.granted"
    CODE_REPLAYED = "token.code_replayed"
    REFRESH_REUSED = "token.refresh_reused"
    CLIENT_CREATED = "client.created"
    CLIENT_UPDATED = "client.updated"
    CLIENT_SECRET_ROTATED = "client.secret_rotated"
    CLIENT_REMOVED = "client.removed"
    KEYS_ROTATED = "keys.rotated"
    REGISTRATION_STARTED = "registration.started"
    REGISTRATION_DUPLICATE = "registration.duplicate"
    EMAIL_VERIFIED = "email.verified"
    EMAIL_CHANGED = "email.changed"
    PASSWORD_RESET_REQUESTED = "password.reset_requested"
    PASSWORD_RESET = "password.reset"
    PASSWORD_CHANGED = "password.changed"
    PROFILE_CHANGED = "profile.changed"
    SESSION_ENDED = "session.ended"
    ACCOUNT_DELETED = "account.deleted"
    ACCOUNT_BLOCKED = "account.blocked"
    ACCOUNT_UNBLOCKED = "account.unblocked"
    MFA_ENROLLED = "mfa.enrolled"
    MFA_REMOVED = "mfa.removed"
    MFA_RECOVERY_CODE_CREATED = "mfa.recovery_code_created"
    MFA_RECOVERY_CODE_USED = "mfa.recovery_code_used"
    MFA_RECOVERY_CHANNEL_SET = "mfa.recovery_channel_set"
    MFA_RESET_REQUESTED = "mfa.reset_requested"
    MFA_RESET_CANCELLED = "mfa.reset_cancelled"
    MFA_RESET_DONE = "mfa.reset_done"
    CUSTOMER_IMPORTED = "customer.imported"
    LEGACY_IMPORTED = "legacy.imported"
    MEMBERSHIP_CREATED = "membership.created"
    LEGACY_LINKED = "legacy.linked"
    MEMBERSHIP_ACTIVATED = "membership.activated"
    MEMBERSHIP_PERMISSIONS_CHANGED = "membership.permissions_changed"
    MEMBERSHIP_ROLE_CHANGED = "membership.role_changed"
    MEMBERSHIP_LOCKED = "membership.locked"
    MEMBERSHIP_UNLOCKED = "membership.unlocked"
    MEMBERSHIP_DELETED = "membership.deleted"
    INVITATION_SENT = "invitation.sent"
    INVITATION_ACCEPTED = "invitation.accepted"
    ADMIN_REQUESTED = "admin.requested"
    ADMIN_REQUEST_CONSENTED = "admin.request_consented"
    ADMIN_REQUEST_APPROVED = "admin.request_approved"
    ADMIN_REQUEST_REJECTED = "admin.request_rejected"
    ADMIN_CONTACTED = "admin.contacted"
    BACKCHANNEL_LOGOUT_SENT = "logout.backchannel_sent"
    OPERATOR_GRANTED = "operator.granted"
    OPERATOR_REVOKED = "operator.revoked"


def record_event(
    tag: EventTag,
    *,
    user: User | None = None,
    actor: User | None = None,
    client_id: str | None = None,
    account: CustomerAccount | None = None,
    **details: Any,
) -> AuditEvent:
    """One audit event. ``account`` files it under a customer account, whose
    administrators then see it in the user's change log."""
    event = AuditEvent(
        customer_account_id=account.id if account else None,
        tag=str(tag),
        user_id=user.id if user else None,
        actor_id=actor.id if actor else None,
        client_id=client_id,
        ip=client_ip() if has_request_context() else None,
        details=details,
    )
    db.session.add(event)
    return event
