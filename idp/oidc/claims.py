"""Which claims a relying party gets: scopes (OIDC Core 5.4) and the ``claims``
request parameter (OIDC Core 5.5)."""

from __future__ import annotations

import json
import re
from typing import Any

from authlib.oauth2.rfc6749 import InvalidRequestError

from idp.store import User

# OIDC Core 5.4: the claims each standard scope asks for.
SCOPE_CLAIMS: dict[str, tuple[str, ...]] = {
    "profile": (
        "name",
        "family_name",
        "given_name",
        "middle_name",
        "nickname",
        "preferred_username",
        "profile",
        "picture",
        "website",
        "gender",
        "birthdate",
        "zoneinfo",
        "locale",
        "updated_at",
    ),
    "email": ("email", "email_verified"),
    "address": ("address",),
    "phone": ("phone_number", "phone_number_verified"),
}
STANDARD_CLAIMS = tuple(c for claims in SCOPE_CLAIMS.values() for c in claims)
# Claims about the authentication itself, set by the token code, never by a user.
AUTHENTICATION_CLAIMS = ("sub", "auth_time", "acr", "amr", "nonce", "sid")
# Scope ``customer``: the chosen membership (our contract with relying parties).
CUSTOMER_SCOPE = "customer"
CUSTOMER_CLAIMS = ("customer_number", "customer_name", "role", "permissions", "membership_status")
# Scope ``customer_admin``: access tokens for the administration API (/api/v1);
# adds no claims, the API checks the user's role in each customer account.
CUSTOMER_ADMIN_SCOPE = "customer_admin"
# The customer number a client hinted at, kept with the code's claims request;
# never a claim itself.
CUSTOMER_HINT = "_customer_number"
SUPPORTED_CLAIMS = (
    *AUTHENTICATION_CLAIMS,
    "iss",
    "aud",
    "exp",
    "iat",
    *STANDARD_CLAIMS,
    *CUSTOMER_CLAIMS,
)
CUSTOMER_NUMBER = re.compile(r"[0-9]{9}")
ADDRESS_FIELDS = ("formatted", "street_address", "locality", "region", "postal_code", "country")


def parse_claims_parameter(raw: str | None) -> dict[str, dict[str, Any]] | None:
    """OIDC Core 5.5: a JSON object with optional ``userinfo`` and ``id_token``
    members, each mapping claim names to null or an object (``essential``,
    ``value``, ``values``). Anything else is an invalid_request."""
    if not raw:
        return None
    try:
        data = json.loads(raw)
    except ValueError:
        raise InvalidRequestError("The 'claims' parameter is not valid JSON.") from None
    if not isinstance(data, dict):
        raise InvalidRequestError("The 'claims' parameter must be a JSON object.")
    result: dict[str, dict[str, Any]] = {}
    for member in ("userinfo", "id_token"):
        requested = data.get(member)
        if requested is None:
            continue
        if not isinstance(requested, dict):
            raise InvalidRequestError(f"claims.{member} must be a JSON object.")
        for name, spec in requested.items():
            if spec is not None and not isinstance(spec, dict):
                raise InvalidRequestError(f"claims.{member}.{name} must be null or an object.")
            if isinstance(spec, dict) and "values" in spec and not isinstance(spec["values"], list):
                raise InvalidRequestError(f"claims.{member}.{name}.values must be an array.")
        result[member] = requested
    return result


def requested_acr_values(claims: dict[str, dict[str, Any]] | None) -> list[str]:
    """ACR values demanded through ``claims.id_token.acr`` (OIDC Core 5.5.1.1)."""
    spec = ((claims or {}).get("id_token") or {}).get("acr") or {}
    if "value" in spec:
        return [str(spec["value"])]
    return [str(v) for v in spec.get("values", [])]


def user_claims(user: User) -> dict[str, Any]:
    """Every standard claim the user has a value for (OIDC Core 5.1)."""
    address = {k: v for k, v in (user.address or {}).items() if k in ADDRESS_FIELDS and v}
    values: dict[str, Any] = {
        "name": user.display_name if (user.given_name or user.family_name) else None,
        "given_name": user.given_name,
        "family_name": user.family_name,
        "middle_name": user.middle_name,
        "nickname": user.nickname,
        "preferred_username": user.preferred_username,
        "profile": user.profile_url,
        "picture": user.picture,
        "website": user.website,
        "gender": user.gender,
        "birthdate": user.birthdate,
        "zoneinfo": user.zoneinfo,
        "locale": user.locale,
        "updated_at": int(user.updated_at.timestamp()),
        "email": user.email,
        "email_verified": user.email_verified,
        "phone_number": user.phone_number,
        "phone_number_verified": user.phone_number_verified if user.phone_number else None,
        "address": address or None,
    }
    return {k: v for k, v in values.items() if v is not None}


def release(
    user: User, scope: str, claims: dict[str, dict[str, Any]] | None, target: str
) -> dict[str, Any]:
    """The claims for ``target`` ("userinfo" or "id_token"): those of the granted
    scopes plus those named in the claims parameter for that target. ``sub`` is
    always present (OIDC Core 5.3.2)."""
    names = {c for s in scope.split() for c in SCOPE_CLAIMS.get(s, ())}
    names |= {n for n in ((claims or {}).get(target) or {}) if n in STANDARD_CLAIMS}
    available = user_claims(user)
    released = {n: available[n] for n in names if n in available}
    released.update(customer_claims(user, scope, claims))
    released["sub"] = user.sub
    return released


def with_customer_hint(
    claims: dict[str, Any] | None, customer_number: str | None
) -> dict[str, Any] | None:
    """The claims request to store with the code, plus the client's
    ``customer_number`` hint (a non-standard authorization parameter) when it is
    one; anything else is ignored, not an error."""
    if not customer_number or not CUSTOMER_NUMBER.fullmatch(customer_number):
        return claims
    return {**(claims or {}), CUSTOMER_HINT: customer_number}


def customer_claims(user: User, scope: str, claims: dict[str, Any] | None) -> dict[str, Any]:
    """The ``customer`` scope's claims, computed at issuance so that a change of
    role or permissions shows in the next refresh; none if the user has no
    membership or several and did not pick one."""
    if CUSTOMER_SCOPE not in scope.split():
        return {}
    from idp.orgs import service

    hint = (claims or {}).get(CUSTOMER_HINT)
    membership = service.choose_membership(user, hint if isinstance(hint, str) else None)
    return service.customer_claims(membership) if membership is not None else {}
