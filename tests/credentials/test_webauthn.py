"""Passkey ceremonies against a software authenticator: py_webauthn verifies
real attestations and signatures; the sign counter catches copied keys."""

from __future__ import annotations

import pytest

from idp import accounts
from idp.credentials import webauthn
from idp.errors import ChangeRejected
from idp.store import Credential, CredentialType, db
from tests.support.webauthn import SoftAuthenticator, b64url


@pytest.fixture
def authenticator() -> SoftAuthenticator:
    return SoftAuthenticator()


def register(user, authenticator, name="Laptop"):
    ceremony = webauthn.registration_options(user)
    credential = webauthn.register(
        user, authenticator.create(ceremony.options), ceremony.challenge, name
    )
    db.session.commit()
    return credential


def sign(authenticator, user=None, **kwargs):
    """Options for ``user`` (None: passwordless), answered; returns (answer, challenge)."""
    ceremony = webauthn.authentication_options(user)
    return authenticator.get(ceremony.options, **kwargs), ceremony.challenge


def other_user():
    user = accounts.create_user("ben.berg@example.de", "Ein-Anderes-Pferd-2", email_verified=True)
    db.session.commit()
    return user


def test_registration_stores_a_confirmed_passkey_with_its_key_and_counter(user, authenticator):
    credential = register(user, authenticator)
    assert credential.type == CredentialType.WEBAUTHN and credential.confirmed
    assert credential.name == "Laptop"
    assert credential.lookup == b64url(authenticator.credentials[0].id)
    assert credential.data["sign_count"] == 1
    assert credential.data["transports"] == ["internal"]
    assert credential.data["aaguid"] == "00000000-0000-0000-0000-000000000000"
    assert credential.data["backed_up"] is True and credential.data["public_key"]


def test_registration_options_name_the_rp_and_exclude_existing_passkeys(user, authenticator):
    first = register(user, authenticator)
    options = webauthn.registration_options(user).options
    assert options["rp"] == {"id": "localhost", "name": "Kunden-ID"}
    assert options["user"]["id"] == b64url(user.sub.encode())
    assert [d["id"] for d in options["excludeCredentials"]] == [first.lookup]
    assert options["authenticatorSelection"]["residentKey"] == "required"
    assert options["authenticatorSelection"]["userVerification"] == "preferred"
    with pytest.raises(PermissionError):  # the authenticator itself refuses a second one
        authenticator.create(options)


@pytest.mark.config(mfa={"webauthn_rp_id": "example.de"})
def test_configured_rp_id_replaces_the_issuer_host(user):
    assert webauthn.registration_options(user).options["rp"]["id"] == "example.de"
    assert webauthn.relying_party().origin == "http://localhost"


def test_registration_for_another_challenge_origin_or_rp_is_refused(user, authenticator):
    ceremony = webauthn.registration_options(user)
    stale = webauthn.registration_options(user)
    foreign_rp = {**ceremony.options, "rp": {"id": "evil.example", "name": "x"}}
    for answer, challenge in [
        (authenticator.create(stale.options), ceremony.challenge),
        (authenticator.create(ceremony.options, origin="http://evil.example"), ceremony.challenge),
        (authenticator.create(foreign_rp), ceremony.challenge),
    ]:
        with pytest.raises(webauthn.PasskeyRejected):
            webauthn.register(user, answer, challenge, "Laptop")
    assert db.session.query(Credential).count() == 0


def test_the_same_credential_cannot_be_registered_twice(user, authenticator):
    register(user, authenticator)
    ceremony = webauthn.registration_options(user)
    again = authenticator.create(ceremony.options, again=authenticator.credentials[0])
    with pytest.raises(webauthn.PasskeyAlreadyRegistered):
        webauthn.register(user, again, ceremony.challenge, "Noch mal")


@pytest.mark.parametrize("name", ["", "   ", None, 42, "x" * 101])
def test_a_passkey_needs_a_sensible_name(user, authenticator, name):
    ceremony = webauthn.registration_options(user)
    with pytest.raises(ChangeRejected) as rejected:
        webauthn.register(user, authenticator.create(ceremony.options), ceremony.challenge, name)
    assert "name" in rejected.value.errors


def test_names_lose_control_characters_and_extra_spaces():
    assert webauthn.check_name("  Mein\x00 \t Laptop ") == "Mein Laptop"


def test_assertion_verifies_and_raises_the_stored_counter(user, authenticator):
    stored = register(user, authenticator)
    answer, challenge = sign(authenticator, user)
    credential, verified = webauthn.authenticate(answer, challenge, user)
    assert credential.id == stored.id and verified is True
    assert credential.data["sign_count"] == 2 and credential.last_used_at is not None


def test_counter_that_does_not_increase_is_refused_as_cloned(user, authenticator):
    register(user, authenticator)
    copy = authenticator.credentials[0]
    answer, challenge = sign(authenticator, user)
    webauthn.authenticate(answer, challenge, user)  # the original: counter 2
    copy.sign_count = 1  # a copy of the key, one step behind
    answer, challenge = sign(authenticator, user)
    with pytest.raises(webauthn.PasskeyCloned) as cloned:
        webauthn.authenticate(answer, challenge, user)
    assert cloned.value.credential.data["sign_count"] == 2


def test_authenticator_without_a_counter_is_accepted(user):
    authenticator = SoftAuthenticator(counter_step=0)
    register(user, authenticator)
    for _ in range(2):
        answer, challenge = sign(authenticator, user)
        credential, _verified = webauthn.authenticate(answer, challenge, user)
    assert credential.data["sign_count"] == 0


def test_passwordless_needs_user_verification_second_factor_does_not(user):
    authenticator = SoftAuthenticator(user_verifying=False)
    register(user, authenticator)
    options = webauthn.authentication_options(None).options
    assert options["userVerification"] == "required" and options["allowCredentials"] == []
    answer, challenge = sign(authenticator)
    with pytest.raises(webauthn.PasskeyRejected):
        webauthn.authenticate(answer, challenge, None)
    answer, challenge = sign(authenticator, user)
    assert webauthn.authenticate(answer, challenge, user)[1] is False


def test_passkey_of_someone_else_is_refused_as_second_factor(user, authenticator):
    register(user, authenticator)
    ben = other_user()
    answer, challenge = sign(authenticator)  # passwordless options: any passkey
    with pytest.raises(webauthn.PasskeyRejected):
        webauthn.authenticate(answer, challenge, ben)


def test_passwordless_answer_must_name_the_owner_in_the_user_handle(user, authenticator):
    register(user, authenticator)
    authenticator.credentials[0].user_handle = b"someone-else"
    answer, challenge = sign(authenticator)
    with pytest.raises(webauthn.PasskeyRejected):
        webauthn.authenticate(answer, challenge, None)


def test_tampered_signature_or_other_challenge_is_refused(user, authenticator):
    register(user, authenticator)
    answer, challenge = sign(authenticator, user)
    forged = dict(answer, response={**answer["response"], "signature": b64url(b"\x30\x00")})
    with pytest.raises(webauthn.PasskeyRejected):
        webauthn.authenticate(forged, challenge, user)
    other_challenge = webauthn.authentication_options(user).challenge
    with pytest.raises(webauthn.PasskeyRejected):
        webauthn.authenticate(answer, other_challenge, user)


@pytest.mark.parametrize(
    "answer",
    [
        None,
        "",
        "{",
        "[]",
        {},
        {"id": "x" * 5000, "rawId": "x", "type": "public-key", "response": {}},
        {"id": "AAAA", "rawId": "!!", "type": "public-key", "response": {"userHandle": "%%"}},
        "x" * 100_000,
    ],
)
def test_malformed_answers_are_refused_not_crashed(user, authenticator, answer):
    register(user, authenticator)
    challenge = webauthn.authentication_options(None).challenge
    with pytest.raises(webauthn.PasskeyRejected):
        webauthn.authenticate(answer, challenge, None)
    with pytest.raises(webauthn.PasskeyRejected):
        webauthn.register(user, answer, challenge, "Laptop")
