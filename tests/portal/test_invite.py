""" "Benutzer hinzufügen" (manual 3.6): the form, then the permissions page, then
the invitation through the API; the provider mails the registration link."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest

from tests.portal.conftest import Browser

NEW = {
    "salutation": "herr",
    "given_name": "Emil",
    "family_name": "Braun",
    "email": "Emil.Braun@example.de",
    "accept_terms": "yes",
}


@pytest.fixture
def admin(browser: Browser, company: Any) -> Browser:
    browser.sign_in("anna.schmidt@example.de")
    return browser


def wait_for_mail(mailbox: Any, address: str) -> Any:
    deadline = time.monotonic() + 10
    while not mailbox.to(address) and time.monotonic() < deadline:
        time.sleep(0.05)
    return mailbox.last(address)


def test_form_checks_every_field_and_keeps_what_was_typed(admin):
    form = admin.get("/users/new")
    for label in ("Anrede", "Vorname", "Nachname", "E-Mail-Adresse"):
        assert f">{label}</label>" in form.text
    assert "Ich akzeptiere die Nutzungsbedingungen." in form.text
    assert 'id="cancel-new-user">Abbrechen' in form.text and "Benutzer anlegen" in form.text
    page = admin.post(
        "/users/new", {"salutation": "Dr.", "given_name": "Emil", "email": "kein-at-zeichen"}
    )
    assert page.status_code == 422
    assert page.text.count('aria-invalid="true"') == 4
    for message in (
        "Bitte wählen Sie eine Anrede aus der Liste.",
        "Bitte füllen Sie dieses Feld aus.",
        "Bitte geben Sie eine gültige E-Mail-Adresse ein.",
        "Bitte akzeptieren Sie die Nutzungsbedingungen.",
    ):
        assert message in page.text
    assert 'value="Emil"' in page.text and 'value="kein-at-zeichen"' in page.text


def test_invitation_with_permissions_sends_the_registration_mail(admin, mailbox, provider):
    admin.get("/users/new")
    step = admin.post("/users/new", NEW)
    assert step.url.endswith("/users/new/permissions")
    assert "<dd>Emil Braun</dd>" in step.text and "<dd>emil.braun@example.de</dd>" in step.text
    assert "<dd>Eingeladen</dd>" in step.text and "<dd>Mitarbeiter</dd>" in step.text
    assert 'href="/users/new">Zurück' in step.text
    ticked = admin.post(
        "/users/new/permissions",
        {"permissions": ["documents"], "group_action": "check:Meine Daten"},
    )
    assert len(re.findall(r" checked>", ticked.text)) == 5
    done = admin.post("/users/new/permissions", {"permissions": ["documents", "licenses"]})
    assert done.url.endswith("/users/")
    assert "Die Einladung wurde an emil.braun@example.de gesendet." in done.text
    wait_for_mail(mailbox, "emil.braun@example.de")
    assert mailbox.link("emil.braun@example.de").startswith(provider.url + "/")
    assert admin.get("/users/new/permissions").url.endswith("/users/new")  # draft used up


def test_back_from_the_permissions_step_keeps_the_form(admin):
    admin.get("/users/new")
    admin.post("/users/new", NEW)
    form = admin.get("/users/new")
    assert 'value="Emil"' in form.text and 'value="emil.braun@example.de"' in form.text
    assert '<option value="herr" selected>' in form.text and " checked>" in form.text


def test_inviting_a_member_shows_the_providers_message_on_the_form(admin):
    admin.get("/users/new")
    admin.post("/users/new", {**NEW, "email": "bernd.mueller@example.de"})
    page = admin.post("/users/new/permissions", {"permissions": ["documents"]})
    assert page.status_code == 422 and 'id="form-message"' in page.text
    assert 'value="bernd.mueller@example.de"' in page.text


def test_permissions_step_without_the_form_goes_back_to_it(admin):
    page = admin.get("/users/new/permissions")
    assert page.url.endswith("/users/new") and 'id="create-user"' in page.text
