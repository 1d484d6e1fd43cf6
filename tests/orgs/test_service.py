"""Customer-account services: imports, joining, legacy links, choosing a membership."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from idp import accounts
from idp.credentials.password import password_context
from idp.errors import (
    Conflict,
    InvalidCredentials,
    InvalidCustomerNumber,
    InvoicePrefix,
    NotFound,
)
from idp.orgs import service
from idp.store import AuditEvent, LegacyAccount, Membership, db

CUSTOMERS = [
    {"customer_number": "447712782", "name": "Bäckerei Schmidt GmbH", "country": "DE",
     "product_line": "sage50"},
    {"customer_number": "261973069", "name": "Müller & Söhne KG", "country": "DE",
     "product_line": "sage100"},
    {"customer_number": "523938499", "name": "Elektro Weber e.K.", "country": "AT",
     "product_line": "dpw"},
]  # fmt: skip

# Rows of ../shared/data/legacy-accounts-sample.csv and their plaintext passwords.
LEGACY = {
    "md5_crypt": ("anna.schmidt", "$1$7NYefk.Y$Rtos3qRfAWWIqOZskKXek.", "altanna0"),
    "sha256_crypt": (
        "bernd.mueller",
        "$5$rounds=535000$hCvXVAK8DmQ.X.d0$SdWRFR4NnPcz5MuaudC2S40qAcqR9Wf66WerkaveDXD",
        "Servicewelt-01!",
    ),
    "bcrypt": (
        "dieter.schneider",
        "$2b$12$6onfEbYaTpGewrA8rbBnjeTZs.qsYq346LFPTf8uKToIqYFwU/f3W",
        "altdieter3",
    ),
    "ldap_salted_sha1": (
        "eva.fischer",
        "{SSHA}Cqwx+o898rR61CRSgyIaEf9icEXnfM85",
        "Servicewelt-04!",
    ),
}


def legacy_row(scheme: str, number: str = "447712782", **extra: str) -> dict[str, str]:
    username, password_hash, _ = LEGACY[scheme]
    return {
        "username": username,
        "password_hash": password_hash,
        "hash_scheme": scheme,
        "customer_number": number,
        "email": f"{username}@example.de",
        "given_name": "Anna",
        "family_name": "Schmidt",
        **extra,
    }


@pytest.fixture
def customers(app):
    result = service.import_customers(CUSTOMERS)
    db.session.commit()
    assert result.created == 3 and not result.errors
    return {c["customer_number"]: service.find_customer(c["customer_number"]) for c in CUSTOMERS}


@pytest.fixture
def other_user(app):
    user = accounts.create_user("bernd@example.de", "Korrekt-Pferd-Batterie-2", email_verified=True)
    db.session.commit()
    return user


def make_admin(user, number: str) -> Membership:
    membership = service.join_by_customer_number(user, number)
    membership.role = "admin"
    membership.status = "active"
    db.session.commit()
    return membership


def tags() -> list[str]:
    return list(db.session.scalars(select(AuditEvent.tag).order_by(AuditEvent.id)))


# -- imports ---------------------------------------------------------------------
def test_import_customers_refuses_bad_lines_with_their_numbers(app):
    rows = [
        CUSTOMERS[0],
        {**CUSTOMERS[1], "customer_number": "26197306"},
        {**CUSTOMERS[1], "customer_number": "D261973069"},
        {**CUSTOMERS[1], "country": "CH"},
        {**CUSTOMERS[1], "product_line": "sage200"},
        {**CUSTOMERS[1], "name": " "},
    ]
    result = service.import_customers(rows)
    assert result.created == 1
    assert [line for line, _ in result.errors] == [3, 4, 5, 6, 7]
    assert "9 digits" in result.errors[0][1] and "CH" in result.errors[2][1]


def test_import_customers_again_updates_instead_of_duplicating(customers):
    renamed = [{**CUSTOMERS[0], "name": "Bäckerei Schmidt & Co. KG"}, *CUSTOMERS[1:]]
    result = service.import_customers(renamed)
    assert (result.created, result.updated, result.unchanged) == (0, 1, 2)
    assert service.find_customer("447712782").name == "Bäckerei Schmidt & Co. KG"
    assert tags().count("customer.imported") == 4


def test_import_legacy_identifies_the_format_from_the_hash(customers):
    rows = [legacy_row(scheme) for scheme in LEGACY]
    rows[0]["hash_scheme"] = ""  # the column is only a cross-check
    result = service.import_legacy_accounts(rows)
    assert result.created == 4 and not result.errors
    stored = db.session.scalars(select(LegacyAccount.password_hash)).all()
    assert {password_context.identify(h) for h in stored} == set(LEGACY)


def test_import_legacy_refuses_unknown_formats_mismatches_and_unknown_customers(customers):
    rows = [
        legacy_row("md5_crypt", password_hash="5f4dcc3b5aa765d61d8327deb882cf99"),
        legacy_row("bcrypt", hash_scheme="md5_crypt"),
        legacy_row("sha256_crypt", number="999999999"),
        legacy_row("ldap_salted_sha1", username="Eva.Fischer"),
    ]
    result = service.import_legacy_accounts(rows)
    assert [line for line, _ in result.errors] == [2, 3, 4]
    assert "no known format" in result.errors[0][1]
    assert "hash_scheme says md5_crypt" in result.errors[1][1]
    assert db.session.scalar(select(LegacyAccount.username)) == "eva.fischer"


# -- joining by customer number ----------------------------------------------------------
def test_join_without_an_admin_is_active_with_no_permissions(user, customers):
    membership = service.join_by_customer_number(user, " 447 712 782 ")
    assert membership.status == "active" and membership.role == "employee"
    assert membership.permissions == []
    assert "membership.created" in tags()


def test_join_once_an_admin_exists_is_pending(user, other_user, customers):
    make_admin(other_user, "447712782")
    assert service.join_by_customer_number(user, "447712782").status == "pending"


def test_join_with_an_invoice_d_prefix_is_explained(user, customers):
    for raw in ("D447712782", "d 447712782"):
        with pytest.raises(InvoicePrefix, match="ohne das vorangestellte D"):
            service.join_by_customer_number(user, raw)


@pytest.mark.parametrize("raw", ["44771278", "4477127820", "44771278x", "", "４４７７１２７８２"])
def test_join_refuses_anything_but_nine_digits(user, customers, raw):
    with pytest.raises(InvalidCustomerNumber):
        service.join_by_customer_number(user, raw)


def test_join_an_unknown_number_is_not_found(user, customers):
    with pytest.raises(NotFound):
        service.join_by_customer_number(user, "999999999")


def test_join_twice_is_a_conflict(user, customers):
    service.join_by_customer_number(user, "447712782")
    with pytest.raises(Conflict):
        service.join_by_customer_number(user, "447712782")


# -- linking a legacy account ------------------------------------------------------------
@pytest.mark.parametrize("scheme", list(LEGACY))
def test_link_takes_over_membership_and_upgrades_the_hash(app, customers, scheme):
    service.import_legacy_accounts([legacy_row(scheme)])
    user = accounts.create_user("neu@example.de", None, email_verified=True)
    username, _, password = LEGACY[scheme]
    membership = service.link_legacy_account(user, username.upper(), password)
    assert membership.customer_account.customer_number == "447712782"
    assert membership.status == "active"
    assert password_context.identify(user.password_hash) == "argon2"
    assert password_context.verify(password, user.password_hash)
    legacy = db.session.scalar(select(LegacyAccount))
    assert legacy.linked_user_id == user.id and legacy.linked_at is not None
    assert "legacy.linked" in tags()


def test_link_keeps_the_users_own_password(user, customers):
    service.import_legacy_accounts([legacy_row("md5_crypt")])
    before = user.password_hash
    service.link_legacy_account(user, "anna.schmidt", "altanna0")
    assert user.password_hash == before


def test_link_is_pending_once_the_customer_has_an_admin(user, other_user, customers):
    make_admin(other_user, "447712782")
    service.import_legacy_accounts([legacy_row("bcrypt")])
    assert service.link_legacy_account(user, "dieter.schneider", "altdieter3").status == "pending"


def test_link_twice_is_refused(user, other_user, customers):
    service.import_legacy_accounts([legacy_row("md5_crypt")])
    service.link_legacy_account(user, "anna.schmidt", "altanna0")
    with pytest.raises(Conflict):
        service.link_legacy_account(other_user, "anna.schmidt", "altanna0")


def test_link_with_a_wrong_password_or_unknown_username_is_refused_alike(user, customers):
    service.import_legacy_accounts([legacy_row("md5_crypt")])
    with pytest.raises(InvalidCredentials):
        service.link_legacy_account(user, "anna.schmidt", "altanna1")
    with pytest.raises(InvalidCredentials):
        service.link_legacy_account(user, "niemand", "altanna0")
    assert service.memberships_of(user) == []
    assert db.session.scalar(select(LegacyAccount.linked_user_id)) is None


# -- choosing the membership a token carries ---------------------------------------------
def test_choose_the_hinted_membership(user, customers):
    service.join_by_customer_number(user, "447712782")
    service.join_by_customer_number(user, "261973069")
    chosen = service.choose_membership(user, "261973069")
    assert chosen.customer_account.customer_number == "261973069"


def test_choose_without_a_hint_among_several_active_is_none(user, customers):
    service.join_by_customer_number(user, "447712782")
    service.join_by_customer_number(user, "261973069")
    assert service.choose_membership(user, None) is None
    assert service.choose_membership(user, "523938499") is None  # hint for a foreign account


def test_choose_the_only_active_one_or_the_only_one(user, other_user, customers):
    assert service.choose_membership(user, None) is None
    make_admin(other_user, "447712782")
    pending = service.join_by_customer_number(user, "447712782")
    assert service.choose_membership(user, None) is pending  # the only one, pending
    active = service.join_by_customer_number(user, "261973069")
    assert service.choose_membership(user, None) is active


def test_customer_claims(user, customers):
    membership = service.join_by_customer_number(user, "447712782")
    membership.permissions = ["licenses", "documents"]
    assert service.customer_claims(membership) == {
        "customer_number": "447712782",
        "customer_name": "Bäckerei Schmidt GmbH",
        "role": "employee",
        "permissions": ["documents", "licenses"],
        "membership_status": "active",
    }
