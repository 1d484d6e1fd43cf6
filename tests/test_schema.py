"""Models and migrations agree; the package ships its resources."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from idp.store import db

ROOT = Path(__file__).resolve().parent.parent


def test_migrations_match_the_models(app):
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
    assert diff == []


def test_wheel_contains_templates_translations_and_migrations(tmp_path):
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
    )
    (wheel,) = tmp_path.glob("idp-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for expected in (
        "idp/templates/base.html",
        "idp/migrations/env.py",
        "idp/migrations/versions/0001_initial_schema.py",
        "idp/static/style.css",
    ):
        assert expected in names
    assert any(n.startswith("idp/translations/en/") for n in names)


def test_migrations_downgrade_and_upgrade_again(tmp_path):
    from flask_migrate import downgrade, upgrade

    from idp import create_app, resource_dir
    from tests.conftest import make_config

    app = create_app(make_config(f"sqlite:///{tmp_path / 'm.sqlite3'}", tmp_path))
    directory = str(resource_dir("migrations"))
    with app.app_context():
        upgrade(directory=directory)
        downgrade(directory=directory, revision="base")
        upgrade(directory=directory)
        assert db.inspect(db.engine).has_table("one_time_tokens")
        db.engine.dispose()
