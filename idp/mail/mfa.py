"""Mails about second factors: every change is told to the account's address."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from idp.audit import EventTag
from idp.mail import issuer_url, outbox
from idp.store import User

WHAT = {
    EventTag.MFA_ENROLLED: _l("Eine Methode der Multi-Faktor-Authentifizierung wurde hinzugefügt."),
    EventTag.MFA_REMOVED: _l("Eine Methode der Multi-Faktor-Authentifizierung wurde entfernt."),
    EventTag.MFA_RECOVERY_CODE_CREATED: _l("Ein neuer Wiederherstellungscode wurde erzeugt."),
    EventTag.MFA_RECOVERY_CODE_USED: _l(
        "Ihr Wiederherstellungscode wurde zur Anmeldung verwendet."
    ),
    EventTag.MFA_RECOVERY_CHANNEL_SET: _l("Ihre Wiederherstellungsadresse wurde geändert."),
    EventTag.MFA_RESET_REQUESTED: _l(
        "Jemand hat beantragt, Ihre Multi-Faktor-Authentifizierung zurückzusetzen."
    ),
    EventTag.MFA_RESET_CANCELLED: _l("Das Zurücksetzen wurde abgebrochen."),
    EventTag.MFA_RESET_DONE: _l("Ihre Multi-Faktor-Authentifizierung wurde zurückgesetzt."),
}


def send_factors_changed(user: User, tag: EventTag, kind: str | None) -> None:
    """One notice per change, in the user's language, with the way to react."""
    outbox.queue(
        "mfa_changed",
        user.email,
        user.locale,
        tag=str(tag),
        what=WHAT.get(tag, ""),
        settings_url=issuer_url("mfa.setup"),
        reset_url=issuer_url("recovery.start"),
    )
