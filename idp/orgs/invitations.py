"""Invitations to a customer account ("Benutzer hinzufügen", manual 3.6).

An administrator names a person (salutation, names, email) and the permissions
they get. The invited data waits in a single-use, expiring link
(``tokens.Purpose.INVITATION``) keyed to the address, not to a user: the person
may have no account yet. The link opens a registration pre-filled with those data;
with the emailed code the account is created and joins the customer account,
active and with the permissions, even though the account has an administrator
(who invited them). An address that already has an account joins after signing in.

Services flush, never commit; every change records an audit event filed under the
customer account."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from idp import accounts, registration, tokens
from idp.audit import EventTag, record_event
from idp.errors import (
    ChangeRejected,
    CodeExpired,
    CodeInvalid,
    Conflict,
    Forbidden,
    InvalidPermissions,
)
from idp.mail import invitations as mail
from idp.orgs.permissions import CODES
from idp.orgs.service import find_customer, membership_in
from idp.store import (
    CustomerAccount,
    Membership,
    MembershipRole,
    MembershipStatus,
    OneTimeToken,
    User,
    db,
    utcnow,
)
from idp.tokens import Purpose

SALUTATIONS = ("frau", "herr", "divers")  # as on the account page (idp.profile)
MAX_NAME_LENGTH = 100
EMAIL_SHAPE = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


@dataclass(frozen=True)
class Invitation:
    """What a live invitation link holds."""

    token_id: int
    email: str
    account: CustomerAccount
    salutation: str
    given_name: str
    family_name: str
    permissions: list[str]
    inviter_id: int | None
    expires_at: dt.datetime


# -- sending -------------------------------------------------------------------------
def create_invitation(
    account: CustomerAccount,
    *,
    actor: User,
    salutation: str,
    given_name: str,
    family_name: str,
    email: str,
    permissions: list[str],
) -> OneTimeToken:
    """Send "Einladung zum Portal" and return the link's record (``email``,
    ``expires_at``). Raises InvalidPermissions (unknown codes), ChangeRejected
    (field -> message), Forbidden (``actor`` is no active administrator of the
    account) or Conflict (the address belongs to a member already). A new
    invitation to the same address for the same account replaces the earlier one."""
    unknown = sorted({code for code in permissions if code not in CODES})
    if unknown:
        raise InvalidPermissions(unknown)
    fields = _checked_fields(salutation, given_name, family_name, email)
    email = fields["email"]
    if not _may_invite(actor, account):
        raise Forbidden("Nur Administratoren dieses Kundenkontos dürfen einladen.")
    owner = accounts.find_by_email(email)
    if owner is not None and membership_in(owner, account) is not None:
        raise Conflict(_("Diese Person gehört dem Kundenkonto bereits an."))
    _retire_earlier(account, email)
    lifetime = current_app.config["IDP"].accounts.invitation_lifetime
    granted = sorted(set(permissions))
    row, token = tokens.issue_link_for_email(
        Purpose.INVITATION,
        email,
        lifetime=lifetime,
        payload={
            "customer_number": account.customer_number,
            "salutation": fields["salutation"],
            "given_name": fields["given_name"],
            "family_name": fields["family_name"],
            "permissions": granted,
            "inviter_id": actor.id,
        },
    )
    mail.send_invitation(
        email,
        token,
        account=account,
        inviter=actor,
        salutation=fields["salutation"],
        given_name=fields["given_name"],
        family_name=fields["family_name"],
        days=max(1, lifetime // 86400),
        locale=owner.locale if owner is not None else actor.locale,
    )
    record_event(
        EventTag.INVITATION_SENT,
        user=owner,
        actor=actor,
        account=account,
        email=email,
        permissions=granted,
    )
    return row


def _checked_fields(
    salutation: str, given_name: str, family_name: str, email: str
) -> dict[str, str]:
    errors: dict[str, str] = {}
    if salutation and salutation not in SALUTATIONS:
        errors["salutation"] = _("Bitte wählen Sie eine Anrede aus der Liste.")
    names = {}
    for field, value, missing in (
        ("given_name", given_name, _("Bitte geben Sie den Vornamen ein.")),
        ("family_name", family_name, _("Bitte geben Sie den Nachnamen ein.")),
    ):
        value = unicodedata.normalize("NFC", value or "").strip()
        if not value:
            errors[field] = missing
        elif len(value) > MAX_NAME_LENGTH:
            errors[field] = _("Bitte geben Sie höchstens %(n)d Zeichen ein.", n=MAX_NAME_LENGTH)
        elif bad := accounts.name_character_error(value):
            errors[field] = bad
        names[field] = value
    address = accounts.normalise_email((email or "")[: accounts.MAX_EMAIL_LENGTH * 2])
    if len(address) > accounts.MAX_EMAIL_LENGTH or not EMAIL_SHAPE.fullmatch(address):
        errors["email"] = _("Bitte geben Sie eine gültige E-Mail-Adresse ein.")
    if errors:
        raise ChangeRejected(errors)
    return {"salutation": salutation or "", **names, "email": address}


def _may_invite(actor: User, account: CustomerAccount) -> bool:
    """Administrators invite (checked at the route and again here); the operator may too."""
    if actor.is_operator:
        return True
    membership = membership_in(actor, account)
    return (
        membership is not None
        and membership.role == MembershipRole.ADMIN
        and membership.status == MembershipStatus.ACTIVE
        and actor.is_active
    )


def _retire_earlier(account: CustomerAccount, email: str) -> None:
    """Earlier open invitations of this account to this address die; another
    account's invitations to the same address stay valid."""
    rows = db.session.scalars(
        select(OneTimeToken).where(
            OneTimeToken.purpose == str(Purpose.INVITATION),
            OneTimeToken.email == email,
            OneTimeToken.used_at.is_(None),
        )
    )
    for row in rows:
        if (row.payload or {}).get("customer_number") == account.customer_number:
            row.used_at = utcnow()


# -- reading ---------------------------------------------------------------------------
def find_invitation(token: str) -> Invitation:
    """The live invitation behind ``token``; raises CodeInvalid (unknown, used,
    replaced, or its account or inviter gone) or CodeExpired."""
    return _invitation(tokens.find_link(Purpose.INVITATION, token))


def _invitation(row: OneTimeToken) -> Invitation:
    payload = row.payload or {}
    account = find_customer(str(payload.get("customer_number", "")))
    inviter_id = payload.get("inviter_id")
    inviter = db.session.get(User, inviter_id) if isinstance(inviter_id, int) else None
    if account is None or inviter is None or not _may_invite(inviter, account):
        raise CodeInvalid()  # an administrator who lost the right no longer invites
    return Invitation(
        token_id=row.id,
        email=str(row.email),
        account=account,
        salutation=str(payload.get("salutation") or ""),
        given_name=str(payload.get("given_name") or ""),
        family_name=str(payload.get("family_name") or ""),
        permissions=[c for c in payload.get("permissions") or [] if c in CODES],
        inviter_id=inviter.id,
        expires_at=row.expires_at,
    )


# -- accepting -------------------------------------------------------------------------
def begin_registration(
    token: str,
    password: str,
    confirmation: str,
    *,
    salutation: str,
    given_name: str,
    family_name: str,
    locale: str,
) -> OneTimeToken:
    """The pre-filled registration: the usual password policy and emailed code
    (``idp.registration``), for the invited address only. Raises CodeInvalid,
    CodeExpired, PasswordRejected, or Conflict if the address has an account."""
    invitation = find_invitation(token)
    if accounts.find_by_email(invitation.email) is not None:
        raise Conflict("address in use")
    return registration.begin_registration(
        invitation.email,
        password,
        confirmation,
        given_name=given_name,
        family_name=family_name,
        locale=locale,
        invitation={"invitation_id": invitation.token_id, "salutation": salutation},
    )


def accept_after_registration(user: User, payload: Mapping[str, Any]) -> Membership | None:
    """Called when the registration code is confirmed: the new account joins.
    An invitation that died meanwhile (used, replaced, expired) leaves a plain
    account, which can still join through onboarding."""
    row = db.session.get(OneTimeToken, payload.get("invitation_id"))
    if row is None or row.purpose != Purpose.INVITATION or row.email != user.email:
        return None
    try:
        invitation = _invitation(row)
        tokens.consume(row)
    except (CodeInvalid, CodeExpired):
        return None
    salutation = payload.get("salutation")
    if salutation in SALUTATIONS:
        user.salutation = str(salutation)
    return _join(user, invitation)


def accept_invitation(token: str, user: User) -> Membership:
    """The signed-in owner of the invited address joins. Raises CodeInvalid,
    CodeExpired, Forbidden (signed in with another address) or Conflict (a member
    already)."""
    invitation = find_invitation(token)
    if user.email != invitation.email:
        raise Forbidden("invitation for another address")
    if membership_in(user, invitation.account) is not None:
        raise Conflict(_("Sie gehören diesem Kundenkonto bereits an."))
    tokens.use_link(Purpose.INVITATION, token)
    return _join(user, invitation)


def _join(user: User, invitation: Invitation) -> Membership:
    account = invitation.account
    membership = Membership(
        user_id=user.id,
        customer_account_id=account.id,
        customer_account=account,
        role=MembershipRole.EMPLOYEE,
        status=MembershipStatus.ACTIVE,
        permissions=sorted(invitation.permissions),
    )
    db.session.add(membership)
    inviter = db.session.get(User, invitation.inviter_id)
    record_event(
        EventTag.INVITATION_ACCEPTED,
        user=user,
        actor=user,
        account=account,
        email=user.email,
        invited_by=inviter.sub if inviter is not None else None,
        permissions=sorted(invitation.permissions),
    )
    db.session.flush()
    return membership
