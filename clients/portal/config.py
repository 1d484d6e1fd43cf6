"""The portal's settings: one typed object from an optional TOML file
(``PORTAL_CONFIG``) with ``PORTAL_<KEY>`` / ``PORTAL_BRANDING_<KEY>`` environment
overrides. ``portal.example.toml`` documents every key."""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

LOCALES = ("de", "en")


@dataclass
class BrandingConfig:
    """The same fields as the provider's ``[branding]`` section."""

    product_name: str = "Kundenportal"
    logo_url: str = ""
    primary_color: str = "#00815d"
    support_url: str = ""

    def __post_init__(self) -> None:
        # The colour goes into a <style> element: nothing but #rrggbb.
        if not re.fullmatch(r"#[0-9a-fA-F]{6}", self.primary_color):
            raise ValueError("branding.primary_color must be #rrggbb")


@dataclass
class PortalConfig:
    issuer: str = "http://127.0.0.1:5000"
    client_id: str = "demo-portal"
    client_secret: str = "demo-portal-secret-change-me"  # noqa: S105 - published demo value
    secret_key: str = ""
    session_db: str = ""
    claims_max_age: int = 300
    session_lifetime: int = 8 * 3600
    default_locale: str = "de"
    timezone: str = "Europe/Berlin"
    http_timeout: float = 10.0
    branding: BrandingConfig = field(default_factory=BrandingConfig)

    def __post_init__(self) -> None:
        self.issuer = self.issuer.rstrip("/")
        if self.default_locale not in LOCALES:
            raise ValueError(f"default_locale must be one of {LOCALES}")
        if self.claims_max_age < 0 or self.session_lifetime <= 0:
            raise ValueError("claims_max_age must be >= 0 and session_lifetime > 0")


def _coerce(value: Any, default: Any, name: str) -> Any:
    if isinstance(default, bool):
        return value if isinstance(value, bool) else str(value).lower() in ("1", "true", "yes")
    try:
        if isinstance(default, int):
            return int(value)
        if isinstance(default, float):
            return float(value)
    except ValueError:
        raise ValueError(f"portal setting {name}: {value!r} is not a number") from None
    return str(value)


def _apply(obj: Any, values: Mapping[str, Any], prefix: str) -> Any:
    known = {f.name: getattr(obj, f.name) for f in fields(obj) if f.name != "branding"}
    unknown = set(values) - set(known)
    if unknown:
        raise ValueError(f"unknown portal setting(s): {', '.join(prefix + k for k in unknown)}")
    changes = {k: _coerce(v, known[k], prefix + k) for k, v in values.items()}
    return replace(obj, **changes)


def load_config(
    path: str | None = None,
    environ: Mapping[str, str] | None = None,
    **overrides: Any,
) -> PortalConfig:
    """File, then environment, then keyword overrides (tests and the factory)."""
    environ = os.environ if environ is None else environ
    path = path or environ.get("PORTAL_CONFIG")
    data: dict[str, Any] = {}
    if path:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    branding = dict(data.pop("branding", {}))
    for f in fields(PortalConfig):
        if f.name != "branding" and f"PORTAL_{f.name.upper()}" in environ:
            data[f.name] = environ[f"PORTAL_{f.name.upper()}"]
    for f in fields(BrandingConfig):
        if f"PORTAL_BRANDING_{f.name.upper()}" in environ:
            branding[f.name] = environ[f"PORTAL_BRANDING_{f.name.upper()}"]
    branding.update(overrides.pop("branding", {}) or {})
    data.update({k: v for k, v in overrides.items() if v is not None})
    config = _apply(PortalConfig(), data, "")
    config.branding = _apply(BrandingConfig(), branding, "branding.")
    return config
