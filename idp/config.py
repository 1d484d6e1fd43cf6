"""Typed settings: one TOML file plus ``IDP__SECTION__KEY`` environment overrides.

Every field here is documented in ``config.example.toml`` (a test keeps the two in
sync). Feature code reads ``current_app.config["IDP"].oidc.code_lifetime``; only this
module looks at the environment.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ENV_PREFIX = "IDP__"
CONFIG_PATH_ENV = "IDP_CONFIG"


class ConfigError(ValueError):
    """A setting is missing, unknown or malformed; the message names the key."""


@dataclass
class ServerConfig:
    issuer: str = "http://localhost:5000"
    secret_key: str = ""
    data_dir: str = "instance"
    trusted_proxies: int = 0


@dataclass
class DatabaseConfig:
    url: str = "sqlite:///idp.sqlite3"
    echo: bool = False


@dataclass
class BrandingConfig:
    product_name: str = "Kunden-ID"
    logo_url: str = ""
    primary_color: str = "#00815d"
    support_url: str = ""
    portal_url: str = ""
    portal_name: str = ""  # empty: "Kundenportal", translated
    portal_users_url: str = ""


@dataclass
class I18nConfig:
    default_locale: str = "de"
    locales: list[str] = field(default_factory=lambda: ["de", "en"])


@dataclass
class SessionConfig:
    cookie_name: str = "idp_session"
    lifetime: int = 8 * 3600
    idle_timeout: int = 2 * 3600


@dataclass
class OidcConfig:
    code_lifetime: int = 60
    access_token_lifetime: int = 600
    id_token_lifetime: int = 600
    refresh_token_lifetime: int = 30 * 24 * 3600
    default_signing_alg: str = "RS256"
    key_cache_seconds: int = 60
    backchannel_allow_http: bool = False


@dataclass
class SecurityConfig:
    login_limit_ip: str = "30 per minute"
    login_limit_account: str = "10 per minute"
    token_limit_ip: str = "600 per minute"
    ratelimit_storage_uri: str = "memory://"
    max_content_length: int = 64 * 1024
    # /operator/ (approving admin requests) only with a second factor in the session
    operator_requires_mfa: bool = True


@dataclass
class MailConfig:
    backend: str = "console"
    host: str = "localhost"
    port: int = 25
    security: str = "none"
    username: str = ""
    password: str = ""
    from_address: str = "no-reply@localhost"
    from_name: str = ""
    timeout: int = 10
    max_attempts: int = 8
    retry_seconds: int = 30


@dataclass
class AccountsConfig:
    password_min_length: int = 8
    password_max_length: int = 128
    code_lifetime: int = 15 * 60
    code_max_attempts: int = 5
    resend_interval: int = 60
    resend_max: int = 5
    reset_link_lifetime: int = 3600
    unblock_link_lifetime: int = 24 * 3600
    invitation_lifetime: int = 7 * 24 * 3600
    lockout_threshold: int = 10
    lockout_base_seconds: int = 60
    lockout_max_seconds: int = 3600
    register_limit_ip: str = "10 per hour"
    code_limit_ip: str = "30 per minute"
    reset_limit_ip: str = "10 per hour"


@dataclass
class MfaConfig:
    policy: str = "optional"
    required_for_clients: list[str] = field(default_factory=list)
    encryption_key: str = ""
    remember_device_days: int = 30
    totp_issuer: str = ""
    recovery_wait_hours: int = 24
    webauthn_rp_id: str = ""


@dataclass
class SmsConfig:
    backend: str = "console"
    url: str = ""
    token: str = ""
    sender: str = ""
    timeout: int = 10
    limit_per_number: str = "3 per 15 minutes"
    limit_per_account: str = "3 per 15 minutes"


@dataclass
class Config:
    server: ServerConfig = field(default_factory=ServerConfig)
    database: DatabaseConfig = field(default_factory=DatabaseConfig)
    branding: BrandingConfig = field(default_factory=BrandingConfig)
    i18n: I18nConfig = field(default_factory=I18nConfig)
    session: SessionConfig = field(default_factory=SessionConfig)
    oidc: OidcConfig = field(default_factory=OidcConfig)
    security: SecurityConfig = field(default_factory=SecurityConfig)
    mail: MailConfig = field(default_factory=MailConfig)
    accounts: AccountsConfig = field(default_factory=AccountsConfig)
    mfa: MfaConfig = field(default_factory=MfaConfig)
    sms: SmsConfig = field(default_factory=SmsConfig)

    @property
    def issuer(self) -> str:
        return self.server.issuer.rstrip("/")

    @property
    def uses_tls(self) -> bool:
        return self.issuer.startswith("https://")


SIGNING_ALGS = ("RS256", "ES256")


def load_config(
    path: str | os.PathLike[str] | None = None,
    overrides: dict[str, dict[str, Any]] | None = None,
    environ: typing.Mapping[str, str] | None = None,
) -> Config:
    """Read the TOML file (``$IDP_CONFIG`` or ``path``), apply environment and
    explicit overrides, and validate. Raises ConfigError naming the bad key."""
    environ = os.environ if environ is None else environ
    raw: dict[str, dict[str, Any]] = {}
    path = path or environ.get(CONFIG_PATH_ENV)
    if path:
        try:
            raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {path} is not valid TOML: {exc}") from exc
    for key, value in environ.items():
        if key.startswith(ENV_PREFIX):
            section, _, name = key[len(ENV_PREFIX) :].lower().partition("__")
            raw.setdefault(section, {})[name] = _EnvValue(value)
    for section, values in (overrides or {}).items():
        raw.setdefault(section, {}).update(values)
    config = _build(raw)
    _validate(config)
    return config


class _EnvValue(str):
    """A string from the environment, to be converted to the field's type."""


def _build(raw: dict[str, Any]) -> Config:
    sections = {}
    hints = typing.get_type_hints(Config)
    for section, values in raw.items():
        if section not in hints:
            raise ConfigError(f"unknown config section [{section}]")
        if not isinstance(values, dict):
            raise ConfigError(f"[{section}] must be a table")
        sections[section] = _build_section(section, hints[section], values)
    return Config(**sections)


def _build_section(section: str, cls: type, values: dict[str, Any]) -> Any:
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for name, value in values.items():
        if name not in hints:
            raise ConfigError(f"unknown config key {section}.{name}")
        kwargs[name] = _coerce(f"{section}.{name}", hints[name], value)
    return cls(**kwargs)


def _coerce(key: str, hint: Any, value: Any) -> Any:
    origin = typing.get_origin(hint)
    if isinstance(value, _EnvValue):
        value = _parse_env(key, hint, str(value))
    if hint is bool:
        if isinstance(value, bool):
            return value
    elif hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif hint is str:
        if isinstance(value, str):
            return str(value)
    elif origin is list:
        (item,) = typing.get_args(hint)
        if isinstance(value, list) and all(isinstance(v, item) for v in value):
            return list(value)
    elif isinstance(hint, types.UnionType):
        return value
    raise ConfigError(f"{key} must be of type {_type_name(hint)}, got {value!r}")


def _parse_env(key: str, hint: Any, value: str) -> Any:
    if hint is bool:
        lowered = value.strip().lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"{key} must be true or false, got {value!r}")
    if hint is int:
        try:
            return int(value)
        except ValueError:
            raise ConfigError(f"{key} must be an integer, got {value!r}") from None
    if typing.get_origin(hint) is list:
        return [v.strip() for v in value.split(",") if v.strip()]
    return value


def _type_name(hint: Any) -> str:
    return getattr(hint, "__name__", str(hint))


def _validate(config: Config) -> None:
    issuer = urlsplit(config.server.issuer)
    if issuer.scheme not in ("http", "https") or not issuer.hostname:
        raise ConfigError("server.issuer must be an absolute http(s) URL")
    if issuer.query or issuer.fragment:
        raise ConfigError("server.issuer must not have a query or fragment (OIDC Discovery 3)")
    if issuer.scheme == "http" and issuer.hostname not in ("localhost", "127.0.0.1"):
        raise ConfigError("server.issuer must use https unless it is localhost")
    if not config.server.secret_key:
        if issuer.scheme == "https":
            raise ConfigError("server.secret_key must be set when the issuer uses https")
    elif len(config.server.secret_key) < 32:
        raise ConfigError("server.secret_key must be at least 32 characters")
    if config.oidc.default_signing_alg not in SIGNING_ALGS:
        raise ConfigError(f"oidc.default_signing_alg must be one of {', '.join(SIGNING_ALGS)}")
    for name in (
        "code_lifetime",
        "access_token_lifetime",
        "id_token_lifetime",
        "refresh_token_lifetime",
        "key_cache_seconds",
    ):
        if getattr(config.oidc, name) <= 0:
            raise ConfigError(f"oidc.{name} must be positive")
    if config.i18n.default_locale not in config.i18n.locales:
        raise ConfigError("i18n.default_locale must be one of i18n.locales")
    if config.server.trusted_proxies < 0:
        raise ConfigError("server.trusted_proxies must not be negative")
    if config.mail.backend not in ("console", "smtp"):
        raise ConfigError("mail.backend must be console or smtp")
    if config.mail.backend == "console" and issuer.scheme == "https":
        raise ConfigError("mail.backend must be smtp when the issuer uses https")
    if config.mail.security not in ("none", "starttls", "tls"):
        raise ConfigError("mail.security must be none, starttls or tls")
    if "@" not in config.mail.from_address:
        raise ConfigError("mail.from_address must be an email address")
    accounts = config.accounts
    if not 8 <= accounts.password_min_length <= accounts.password_max_length <= 1024:
        raise ConfigError(
            "accounts.password_min_length must be at least 8 and at most "
            "accounts.password_max_length (at most 1024)"
        )
    for name in (
        "code_lifetime",
        "code_max_attempts",
        "reset_link_lifetime",
        "lockout_threshold",
        "lockout_base_seconds",
        "resend_max",
        "invitation_lifetime",
    ):
        if getattr(accounts, name) <= 0:
            raise ConfigError(f"accounts.{name} must be positive")
    if config.mfa.policy not in ("optional", "required", "per_client"):
        raise ConfigError("mfa.policy must be optional, required or per_client")
    if config.mfa.encryption_key and len(config.mfa.encryption_key) < 32:
        raise ConfigError("mfa.encryption_key must be at least 32 characters")
    if not config.mfa.encryption_key and issuer.scheme == "https":
        raise ConfigError("mfa.encryption_key must be set when the issuer uses https")
    if config.mfa.remember_device_days < 0:
        raise ConfigError("mfa.remember_device_days must not be negative")
    if config.sms.backend not in ("console", "http"):
        raise ConfigError("sms.backend must be console or http")
    if config.sms.backend == "http" and not config.sms.url.startswith(("https://", "http://")):
        raise ConfigError("sms.url must be an http(s) URL when sms.backend is http")
    if config.sms.backend == "console" and issuer.scheme == "https":
        raise ConfigError("sms.backend must be http when the issuer uses https")
    color = config.branding.primary_color
    if not (
        color.startswith("#")
        and len(color) in (4, 7)
        and all(c in "0123456789abcdefABCDEF" for c in color[1:])
    ):
        raise ConfigError("branding.primary_color must be a hex colour like #00815d")
    for name in ("portal_url", "portal_users_url"):
        url = getattr(config.branding, name)
        if url and not url.startswith(("https://", "http://")):
            raise ConfigError(f"branding.{name} must be an absolute http(s) URL")


def as_dict(config: Config) -> dict[str, Any]:
    return dataclasses.asdict(config)
