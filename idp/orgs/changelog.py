"""How audit events read in a user's change log ("Änderungsprotokoll", manual
3.7): the category an event tag belongs to and a short line of details."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

from idp.audit import EventTag as T
from idp.orgs.permissions import by_code

CREATED = _l("Benutzer angelegt")
ACTIVATED = _l("Benutzer aktiviert")
ACCOUNT_CHANGED = _l("Account geändert")
PERMISSIONS_CHANGED = _l("Berechtigungen geändert")
LOCKED = _l("Benutzer gesperrt")
UNLOCKED = _l("Benutzer entsperrt")
DELETED = _l("Benutzer gelöscht")
INVITED = _l("Einladung versendet")
SIGNED_IN = _l("Anmeldung")
MFA_CHANGED = _l("MFA geändert")
PASSWORD_CHANGED = _l("Passwort geändert")
ADMIN_RIGHTS = _l("Admin-Rechte")

_CATEGORY: dict[T, LazyString] = {
    T.USER_CREATED: CREATED,
    T.MEMBERSHIP_CREATED: CREATED,
    T.INVITATION_ACCEPTED: CREATED,
    T.MEMBERSHIP_ACTIVATED: ACTIVATED,
    T.EMAIL_VERIFIED: ACTIVATED,
    T.PROFILE_CHANGED: ACCOUNT_CHANGED,
    T.EMAIL_CHANGED: ACCOUNT_CHANGED,
    T.LEGACY_LINKED: ACCOUNT_CHANGED,
    T.MEMBERSHIP_ROLE_CHANGED: ACCOUNT_CHANGED,
    T.MEMBERSHIP_PERMISSIONS_CHANGED: PERMISSIONS_CHANGED,
    T.MEMBERSHIP_LOCKED: LOCKED,
    T.MEMBERSHIP_UNLOCKED: UNLOCKED,
    T.MEMBERSHIP_DELETED: DELETED,
    T.INVITATION_SENT: INVITED,
    T.LOGIN_SUCCEEDED: SIGNED_IN,
    T.MFA_ENROLLED: MFA_CHANGED,
    T.MFA_REMOVED: MFA_CHANGED,
    T.MFA_RECOVERY_CODE_CREATED: MFA_CHANGED,
    T.MFA_RECOVERY_CHANNEL_SET: MFA_CHANGED,
    T.MFA_RESET_DONE: MFA_CHANGED,
    T.PASSWORD_CHANGED: PASSWORD_CHANGED,
    T.PASSWORD_RESET: PASSWORD_CHANGED,
    T.ADMIN_REQUESTED: ADMIN_RIGHTS,
    T.ADMIN_REQUEST_CONSENTED: ADMIN_RIGHTS,
    T.ADMIN_REQUEST_APPROVED: ADMIN_RIGHTS,
    T.ADMIN_REQUEST_REJECTED: ADMIN_RIGHTS,
}
# The tags that appear in a change log, as stored in AuditEvent.tag.
CATEGORIES: tuple[str, ...] = tuple(str(tag) for tag in _CATEGORY)


def label_of(tag: str) -> str:
    return str(_CATEGORY[T(tag)])


def describe(tag: str, details: Mapping[str, Any], client_id: str | None = None) -> str:
    """One line for the "Details" column; never secrets (events hold none)."""
    if tag == T.MEMBERSHIP_PERMISSIONS_CHANGED:
        parts = []
        if details.get("added"):
            parts.append(_("Erteilt: %(list)s", list=_labels(details["added"])))
        if details.get("removed"):
            parts.append(_("Entzogen: %(list)s", list=_labels(details["removed"])))
        return "; ".join(parts)
    if tag == T.INVITATION_SENT and details.get("email"):
        return _("an %(email)s", email=details["email"])
    if tag == T.MEMBERSHIP_ROLE_CHANGED and details.get("role"):
        role = _("Administrator") if details["role"] == "admin" else _("Mitarbeiter")
        return _("Rolle: %(role)s", role=role)
    if tag == T.LOGIN_SUCCEEDED and client_id:
        return _("Anwendung: %(client)s", client=client_id)
    if tag in (T.MFA_ENROLLED, T.MFA_REMOVED) and details.get("type"):
        return str(details.get("name") or details["type"])
    if tag == T.MEMBERSHIP_CREATED and details.get("via") == "legacy_account":
        return _("über ein verknüpftes Servicewelt-Konto")
    if tag == T.MEMBERSHIP_CREATED and details.get("via") == "customer_number":
        return _("über die Kundennummer")
    if tag == T.INVITATION_ACCEPTED:
        return _("Einladung angenommen")
    if tag == T.USER_CREATED:
        return _("Konto erstellt")
    return ""


def _labels(codes: list[str]) -> str:
    found = (by_code(code) for code in codes)
    return ", ".join(str(p.label) if p else code for p, code in zip(found, codes, strict=True))
