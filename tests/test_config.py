"""The typed config: TOML, environment overrides, validation, and the example file."""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path

import pytest

from idp.config import Config, ConfigError, load_config

EXAMPLE = Path(__file__).resolve().parent.parent / "config.example.toml"


def test_example_file_documents_every_key_with_its_default():
    example = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
    defaults = dataclasses.asdict(Config())
    assert example.keys() == defaults.keys()
    for section, values in defaults.items():
        assert example[section] == values, f"[{section}] differs from the defaults"


def test_example_file_loads():
    assert load_config(EXAMPLE, environ={}).issuer == "http://localhost:5000"


def test_environment_overrides_are_typed():
    config = load_config(
        environ={
            "IDP__OIDC__CODE_LIFETIME": "30",
            "IDP__DATABASE__ECHO": "yes",
            "IDP__I18N__LOCALES": "de, en",
            "IDP__BRANDING__PRODUCT_NAME": "Sage ID",
        }
    )
    assert config.oidc.code_lifetime == 30
    assert config.database.echo is True
    assert config.i18n.locales == ["de", "en"]
    assert config.branding.product_name == "Sage ID"


@pytest.mark.parametrize(
    ("environ", "key"),
    [
        ({"IDP__OIDC__CODE_LIFETIME": "soon"}, "oidc.code_lifetime"),
        ({"IDP__OIDC__NOPE": "1"}, "oidc.nope"),
        ({"IDP__NOPE__X": "1"}, "[nope]"),
        ({"IDP__SERVER__ISSUER": "https://id.example"}, "server.secret_key"),
        ({"IDP__SERVER__ISSUER": "http://id.example"}, "server.issuer"),
        ({"IDP__OIDC__DEFAULT_SIGNING_ALG": "HS256"}, "oidc.default_signing_alg"),
        ({"IDP__BRANDING__PRIMARY_COLOR": "red;}"}, "branding.primary_color"),
        ({"IDP__DATABASE__ECHO": "perhaps"}, "database.echo"),
    ],
)
def test_bad_setting_is_refused_naming_the_key(environ, key):
    with pytest.raises(ConfigError, match=key.replace("[", r"\[").replace("]", r"\]")):
        load_config(environ=environ)


def test_bad_toml_file_is_reported(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[server\nissuer=", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(path, environ={})
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "missing.toml", environ={})
