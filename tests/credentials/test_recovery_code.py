"""The recovery code credential: shape and strength, hashed storage, valid only
after confirmation, single use, a new one replaces the old."""

from __future__ import annotations

import math
import re

import pytest

from idp.credentials import recovery_code
from idp.errors import CodeInvalid, NotFound
from idp.store import Credential, db

SHAPE = re.compile(r"[2-9A-HJ-NP-Z]{4}(-[2-9A-HJ-NP-Z]{4}){3}")


def confirmed_code(user):
    credential, code = recovery_code.issue(user)
    recovery_code.confirm(user, recovery_code.pending(user, credential.id, code))
    return credential, code


def test_codes_are_four_groups_of_four_unambiguous_letters_with_80_bits():
    codes = {recovery_code.generate() for _ in range(50)}
    assert len(codes) == 50 and all(SHAPE.fullmatch(code) for code in codes)
    assert not set("01IO") & set(recovery_code.ALPHABET)
    assert recovery_code.LENGTH * math.log2(len(recovery_code.ALPHABET)) >= 80


def test_code_is_stored_as_an_argon2_hash(app, user):
    credential, code = recovery_code.issue(user)
    assert credential.secret.startswith("$argon2id$")
    assert code.replace("-", "") not in credential.secret


def test_new_code_counts_only_after_confirmation(app, user):
    credential, code = recovery_code.issue(user)
    assert not recovery_code.has_code(user)
    with pytest.raises(CodeInvalid):
        recovery_code.use(user, code)
    recovery_code.confirm(user, recovery_code.pending(user, credential.id, code))
    assert recovery_code.has_code(user)


def test_code_works_once(app, user):
    _credential, code = confirmed_code(user)
    recovery_code.use(user, code)
    with pytest.raises(CodeInvalid):
        recovery_code.use(user, code)
    assert Credential.query.filter_by(user_id=user.id).count() == 0


@pytest.mark.parametrize(
    "typing", [str.lower, lambda c: c.replace("-", " "), lambda c: c.replace("-", "")]
)
def test_case_spaces_and_dashes_do_not_matter(app, user, typing):
    _credential, code = confirmed_code(user)
    assert recovery_code.use(user, f" {typing(code)} ") is not None


def test_a_shortened_code_is_refused(app, user):
    _credential, code = confirmed_code(user)
    with pytest.raises(CodeInvalid):
        recovery_code.use(user, code[:-1])


def test_confirming_a_new_code_invalidates_the_old_one(app, user):
    _old, old_code = confirmed_code(user)
    credential, new_code = recovery_code.issue(user)
    assert recovery_code.has_code(user)  # the old one works until the new is confirmed
    recovery_code.confirm(user, recovery_code.pending(user, credential.id, new_code))
    with pytest.raises(CodeInvalid):
        recovery_code.use(user, old_code)
    assert recovery_code.use(user, new_code) is credential


def test_pending_needs_the_shown_text_and_the_owner(app, user):
    from idp import accounts

    other = accounts.create_user("bernd@example.at", None)
    credential, code = recovery_code.issue(user)
    for who, typed, credential_id in [
        (other, code, credential.id),
        (user, recovery_code.generate(), credential.id),
        (user, code, credential.id + 1),
        (user, "", credential.id),
    ]:
        with pytest.raises(NotFound):
            recovery_code.pending(who, credential_id, typed)


def test_user_without_a_code_is_refused(app, user):
    with pytest.raises(CodeInvalid):
        recovery_code.use(user, recovery_code.generate())


@pytest.mark.parametrize("typed", ["", "x" * 5000, "ABCD-EFGH-JKLM-NPQ0", "🙂" * 16])
def test_malformed_input_is_refused(app, user, typed):
    confirmed_code(user)
    db.session.commit()
    with pytest.raises(CodeInvalid):
        recovery_code.use(user, typed)
