"""What every part of the portal needs from the running app: its settings, the
session store and the registered OpenID Connect client."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import current_app

from clients.portal.config import PortalConfig
from clients.portal.store import SessionStore


@dataclass
class Portal:
    config: PortalConfig
    store: SessionStore
    idp: Any  # Authlib's FlaskOAuth2App for the provider


def portal() -> Portal:
    found: Portal = current_app.extensions["portal"]
    return found


def provider_url(path: str) -> str:
    return portal().config.issuer + path
