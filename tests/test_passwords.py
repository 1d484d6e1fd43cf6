"""Password policy: length bounds, confirmation, common and breached passwords."""

from __future__ import annotations

import pytest

from idp.errors import PasswordRejected
from idp.security.passwords import _short_passwords, check_new_password, is_common


@pytest.mark.parametrize(
    "password",
    [
        "password",
        "12345678",
        "iloveyou",
        "Passwort1",
        "password123",
        "qwertzuiop",
        "PASSWORD123",
        "1q2w3e4r5t",
    ],
)
def test_common_passwords_are_refused(app, password):
    with pytest.raises(PasswordRejected, match="zu häufig"):
        check_new_password(password)


@pytest.mark.parametrize(
    ("password", "confirmation", "message"),
    [
        ("kurz", None, "mindestens 8"),
        ("x" * 129, None, "höchstens 128"),
        ("Ein-gutes-Passwort-1", "Ein-gutes-Passwort-2", "nicht überein"),
        ("anna@example.de", None, "zu häufig"),
    ],
)
def test_policy_messages_name_the_rule(app, password, confirmation, message):
    with pytest.raises(PasswordRejected, match=message):
        check_new_password(password, confirmation, email="anna@example.de")


def test_a_good_password_passes(app):
    assert check_new_password("Korrekt-Pferd-Batterie-1", "Korrekt-Pferd-Batterie-1")


def test_the_offline_lists_are_large():
    assert len(_short_passwords()) > 16_000
    assert is_common("Korrekt-Pferd-Batterie-1") is False


@pytest.mark.config(accounts={"password_min_length": 12})
def test_minimum_length_is_configurable(app):
    with pytest.raises(PasswordRejected, match="mindestens 12"):
        check_new_password("Elf-Zeichen")
