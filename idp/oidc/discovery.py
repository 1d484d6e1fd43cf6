"""OpenID Connect Discovery 1.0, section 3: provider metadata, computed once per
app because it only depends on configuration."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _

from idp.config import SIGNING_ALGS, Config
from idp.oidc import authorize, claims
from idp.oidc.server import TOKEN_AUTH_METHODS

SCOPES = ["openid", "profile", "email", "address", "phone", "customer", claims.CUSTOMER_ADMIN_SCOPE]


def scope_labels() -> dict[str, str]:
    """What each scope means, for the consent page."""
    return {
        "openid": _("Ihre Anmeldung bestätigen"),
        "profile": _("Ihren Namen und Ihr Profil"),
        "email": _("Ihre E-Mail-Adresse"),
        "address": _("Ihre Anschrift"),
        "phone": _("Ihre Telefonnummer"),
        "customer": _("Ihr Kundenkonto, Ihre Rolle und Ihre Berechtigungen"),
        claims.CUSTOMER_ADMIN_SCOPE: _(
            "Die Benutzer Ihres Kundenkontos verwalten, wenn Sie dort Administrator sind"
        ),
    }


def metadata(config: Config) -> dict[str, Any]:
    issuer = config.issuer
    return {
        # REQUIRED
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/authorize",
        "token_endpoint": f"{issuer}/token",
        "jwks_uri": f"{issuer}/jwks",
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": list(SIGNING_ALGS),
        # RECOMMENDED
        "userinfo_endpoint": f"{issuer}/userinfo",
        "scopes_supported": SCOPES,
        "claims_supported": list(claims.SUPPORTED_CLAIMS),
        # OPTIONAL, as far as they apply
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "acr_values_supported": list(authorize.ACR_VALUES),
        "token_endpoint_auth_methods_supported": TOKEN_AUTH_METHODS,
        "display_values_supported": list(authorize.DISPLAY_VALUES),
        "claim_types_supported": ["normal"],
        "claims_parameter_supported": True,
        "ui_locales_supported": config.i18n.locales,
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
        "prompt_values_supported": ["none", "login", "consent"],
        "code_challenge_methods_supported": ["S256"],
        "revocation_endpoint": f"{issuer}/revoke",
        "revocation_endpoint_auth_methods_supported": TOKEN_AUTH_METHODS,
        "introspection_endpoint": f"{issuer}/introspect",
        "introspection_endpoint_auth_methods_supported": [
            "client_secret_basic",
            "client_secret_post",
        ],
        "end_session_endpoint": f"{issuer}/logout",
        # Back-Channel Logout 1.0 section 2.1; logout tokens carry the sid
        "backchannel_logout_supported": True,
        "backchannel_logout_session_supported": True,
        "authorization_response_iss_parameter_supported": True,  # RFC 9207 3
        # Not in any OpenID spec: a custom, documented extension (as Keycloak and
        # Ory publish one) naming the page where users manage their account, so
        # relying parties can link to it instead of hard-coding the path.
        "account_management_uri": f"{issuer}/account/",
    }
