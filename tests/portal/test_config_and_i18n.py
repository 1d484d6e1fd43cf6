"""The portal on its own: settings, translations, and no dependency on the
provider's code (a relying-party developer copies clients/portal as is)."""

from __future__ import annotations

import re
from dataclasses import asdict
from pathlib import Path

import pytest

import clients.portal as portal_package
from clients.portal import admin, api, areas, invite
from clients.portal.config import PortalConfig, load_config
from clients.portal.translations import ENGLISH

ROOT = Path(portal_package.__file__).parent
MESSAGE = re.compile(r"""_\(\s*(?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)")""")


def messages() -> set[str]:
    """Every German message: literal _("...") calls and the data pages translate."""
    found = set()
    for path in [*ROOT.rglob("*.html"), *ROOT.rglob("*.py")]:
        for match in MESSAGE.finditer(path.read_text(encoding="utf-8")):
            found.add(match.group(1) if match.group(1) is not None else match.group(2))
    for area in areas.AREAS.values():
        found |= {area.title, area.summary, *area.columns}
        found |= {row[i] for row in area.rows for i in area.translated}
    for action in admin.ACTIONS.values():
        found |= {action.title, action.subtitle, action.text, action.button, action.done}
    found |= set(portal_package.STATUS_LABELS.values()) | set(portal_package.ROLE_LABELS.values())
    found |= set(invite.SALUTATIONS.values()) | {api.UNAVAILABLE}
    found |= {text for pair in portal_package.ERROR_PAGES.values() for text in pair}
    return found


def test_every_message_has_an_english_translation_and_none_is_left_over():
    used = messages()
    assert sorted(used - set(ENGLISH)) == []
    assert sorted(set(ENGLISH) - used) == []
    for german, english in ENGLISH.items():
        assert re.findall(r"%\(\w+\)s", german) == re.findall(r"%\(\w+\)s", english), german


def test_portal_imports_nothing_from_the_provider():
    for path in ROOT.rglob("*.py"):
        source = path.read_text(encoding="utf-8")
        assert not re.search(r"^\s*(from|import)\s+idp\b", source, re.M), path


def test_example_file_documents_every_setting_with_its_default(tmp_path):
    example = ROOT / "portal.example.toml"
    assert asdict(load_config(str(example), environ={})) == asdict(PortalConfig())


def test_environment_overrides_the_file_and_bad_values_are_named(tmp_path):
    path = tmp_path / "portal.toml"
    path.write_text('issuer = "https://id.example/"\n[branding]\nproduct_name = "X"\n')
    environ = {"PORTAL_CLAIMS_MAX_AGE": "0", "PORTAL_BRANDING_PRODUCT_NAME": "Sage Portal"}
    config = load_config(str(path), environ=environ)
    assert config.issuer == "https://id.example" and config.claims_max_age == 0
    assert config.branding.product_name == "Sage Portal"
    with pytest.raises(ValueError, match="claims_max_age"):
        load_config(environ={"PORTAL_CLAIMS_MAX_AGE": "soon"})
    with pytest.raises(ValueError, match="unknown portal setting"):
        load_config(environ={}, colour="red")
    with pytest.raises(ValueError, match="primary_color"):
        load_config(environ={}, branding={"primary_color": "red;}body{x:y"})
