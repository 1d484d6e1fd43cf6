"""'Administrator kontaktieren': a member writes to the administrators of their
customer account, who get the message by mail and reply to the member directly.

The message itself is not stored; the audit event records that it was sent and
to how many administrators. Rate limiting is the caller's job."""

from __future__ import annotations

from flask_babel import gettext as _

from idp.audit import EventTag, record_event
from idp.errors import ChangeRejected, Conflict
from idp.mail import orgs as mail
from idp.orgs.service import active_admins
from idp.store import Membership, MembershipStatus, User, db

MAX_SUBJECT_LENGTH = 150
MAX_MESSAGE_LENGTH = 5000


def contact_admins(membership: Membership, *, subject: str, message: str) -> int:
    """Mail the message to every active administrator of the membership's customer
    account except the sender; returns how many got it."""
    if membership.status == MembershipStatus.LOCKED:
        raise Conflict(_("Ihr Zugang zu diesem Kundenkonto ist gesperrt."))
    account = membership.customer_account
    recipients = admins_to_contact(membership)
    if not recipients:
        raise Conflict(_("Ihr Kundenkonto hat noch keinen Administrator."))
    subject, message = _validated(subject, message)
    sender = db.session.get(User, membership.user_id)
    assert sender is not None  # memberships are deleted with their user
    for admin in recipients:
        mail.send_admin_message(admin, sender, account, subject, message)
    record_event(
        EventTag.ADMIN_CONTACTED,
        user=sender,
        actor=sender,
        account=account,
        recipients=len(recipients),
    )
    db.session.flush()
    return len(recipients)


def admins_to_contact(membership: Membership) -> list[User]:
    """Who would get the member's message: the account's other active administrators."""
    admins = active_admins(membership.customer_account)
    return [admin for admin in admins if admin.id != membership.user_id]


def _validated(subject: str, message: str) -> tuple[str, str]:
    """A one-line subject (it becomes part of a mail header) and a non-empty message."""
    subject = " ".join(subject.split())
    message = message.replace("\r\n", "\n").strip()
    errors = {}
    if not subject:
        errors["subject"] = _("Bitte geben Sie einen Betreff ein.")
    elif len(subject) > MAX_SUBJECT_LENGTH:
        errors["subject"] = _("Bitte geben Sie höchstens %(n)d Zeichen ein.", n=MAX_SUBJECT_LENGTH)
    if not message:
        errors["message"] = _("Bitte geben Sie eine Nachricht ein.")
    elif len(message) > MAX_MESSAGE_LENGTH:
        errors["message"] = _("Bitte geben Sie höchstens %(n)d Zeichen ein.", n=MAX_MESSAGE_LENGTH)
    if errors:
        raise ChangeRejected(errors)
    return subject, message
