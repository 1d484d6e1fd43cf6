"""Operator commands: ``idp customers import|list|show`` and ``idp legacy import``."""

from __future__ import annotations

from sqlalchemy import select

from idp import accounts
from idp.orgs import service
from idp.store import CustomerAccount, LegacyAccount, db

CUSTOMERS_CSV = """\
customer_number,name,country,product_line
447712782,Bäckerei Schmidt GmbH,DE,sage50
261973069,Müller & Söhne KG,DE,sage100
151847156,Fischer Tischlerei GmbH,AT,dpw
"""

LEGACY_CSV = """\
username,password_hash,hash_scheme,customer_number,email,given_name,family_name
anna.schmidt,$1$7NYefk.Y$Rtos3qRfAWWIqOZskKXek.,md5_crypt,447712782,anna_schmidt@example.de,Anna,Schmidt
dieter.schneider,$2b$12$6onfEbYaTpGewrA8rbBnjeTZs.qsYq346LFPTf8uKToIqYFwU/f3W,bcrypt,261973069,d@example.de,Dieter,Schneider
eva.fischer,{SSHA}Cqwx+o898rR61CRSgyIaEf9icEXnfM85,,151847156,eva_fischer@example.at,Eva,Fischer
maria.schroeder,$pbkdf2-sha256$29000$7D1nzBmj9B6D0JrTeu/d.w$U5KZnrUjv6fYlXhC0sHzo9suHT3xPYwULFBIz.NnaPc,pbkdf2_sha256,447712782,m@example.de,María,Schröder
"""  # noqa: E501


def write(tmp_path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_customers_import_list_and_show(idp_cli, tmp_path, user):
    out = idp_cli("customers", "import", write(tmp_path, "c.csv", CUSTOMERS_CSV))
    assert "3 created, 0 updated, 0 unchanged, 0 refused" in out
    listing = idp_cli("customers", "list")
    assert "151847156\tAT\tdpw\tFischer Tischlerei GmbH" in listing
    assert listing.index("151847156") < listing.index("447712782")

    db.session.expire_all()
    service.join_by_customer_number(user, "447712782")
    db.session.commit()
    shown = idp_cli("customers", "show", "447712782")
    assert "Bäckerei Schmidt GmbH" in shown and "memberships: 1" in shown
    assert "anna.schmidt@example.de\temployee\tactive\t-" in shown
    idp_cli("customers", "show", "999999999", ok=False)


def test_customers_import_reports_bad_lines_and_exits_1(idp_cli, tmp_path):
    bad = CUSTOMERS_CSV + "D12345678,Falsch GmbH,DE,sage50\n523938499,Weber,CH,sage50\n"
    out = idp_cli("customers", "import", write(tmp_path, "c.csv", bad), ok=False)
    assert "3 created, 0 updated, 0 unchanged, 2 refused" in out
    assert "line 5: customer_number 'D12345678' is not exactly 9 digits" in out
    assert "line 6: country 'CH'" in out
    db.session.expire_all()
    assert len(db.session.scalars(select(CustomerAccount)).all()) == 3  # good lines kept


def test_customers_import_twice_is_idempotent(idp_cli, tmp_path):
    path = write(tmp_path, "c.csv", CUSTOMERS_CSV)
    idp_cli("customers", "import", path)
    out = idp_cli("customers", "import", path)
    assert "0 created, 0 updated, 3 unchanged, 0 refused" in out
    renamed = write(tmp_path, "r.csv", CUSTOMERS_CSV.replace("Müller & Söhne KG", "Müller AG"))
    assert "1 updated" in idp_cli("customers", "import", renamed)
    db.session.expire_all()
    assert service.find_customer("261973069").name == "Müller AG"


def test_legacy_import_detects_formats(idp_cli, tmp_path):
    idp_cli("customers", "import", write(tmp_path, "c.csv", CUSTOMERS_CSV))
    out = idp_cli("legacy", "import", write(tmp_path, "l.csv", LEGACY_CSV))
    assert "4 created, 0 updated, 0 unchanged, 0 refused" in out
    db.session.expire_all()
    names = db.session.scalars(select(LegacyAccount.family_name)).all()
    assert "Schröder" in names


def test_legacy_import_refuses_unknown_hashes_and_customers(idp_cli, tmp_path):
    idp_cli("customers", "import", write(tmp_path, "c.csv", CUSTOMERS_CSV))
    bad = (
        LEGACY_CSV
        + "olaf,5f4dcc3b5aa765d61d8327deb882cf99,md5,447712782,o@example.de,Olaf,Alt\n"
        + "paula,$1$7NYefk.Y$Rtos3qRfAWWIqOZskKXek.,md5_crypt,111111111,p@example.de,Paula,X\n"
    )
    out = idp_cli("legacy", "import", write(tmp_path, "l.csv", bad), ok=False)
    assert "line 6: password_hash is in no known format" in out
    assert "line 7: customer_number '111111111' is not imported" in out


def test_import_of_a_non_utf8_file_fails_clearly(idp_cli, tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes(CUSTOMERS_CSV.encode("latin-1"))
    assert "not a UTF-8 CSV file" in idp_cli("customers", "import", str(path), ok=False)


def test_demo_seed_imports_samples_and_makes_the_demo_user_admin(app):
    from idp import demo
    from idp.orgs.permissions import CODES

    demo.seed()
    demo.seed()  # idempotent
    user = accounts.find_by_email(demo.DEMO_EMAIL)
    (membership,) = service.memberships_of(user)
    assert service.customer_claims(membership) == {
        "customer_number": "447712782",
        "customer_name": "Bäckerei Schmidt GmbH",
        "role": "admin",
        "permissions": sorted(CODES),
        "membership_status": "active",
    }
    assert len(db.session.scalars(select(LegacyAccount)).all()) == 14
