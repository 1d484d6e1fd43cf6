"""A small client for the provider's administration API (/api/v1), called with
the signed-in administrator's own access token. Every failure becomes an
``ApiError`` that pages show as a form error, never a 500."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import requests

UNAVAILABLE = "Die Benutzerverwaltung ist gerade nicht erreichbar."


@dataclass
class ApiError(Exception):
    status: int
    code: str
    message: str
    fields: dict[str, list[str]] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.status} {self.code}: {self.message}"


class AdminApi:
    def __init__(self, issuer: str, access_token: str, locale: str, timeout: float) -> None:
        self.base = issuer + "/api/v1"
        self.timeout = timeout
        self.headers = {
            "Authorization": "Bearer " + access_token,
            "Accept": "application/json",
            "Accept-Language": locale,
        }

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = requests.request(
                method, self.base + path, headers=self.headers, timeout=self.timeout, **kwargs
            )
        except requests.RequestException:
            raise ApiError(502, "unavailable", UNAVAILABLE) from None
        if response.status_code == 204:
            return None
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.ok and body is not None:
            return body
        if not isinstance(body, dict):
            body = {}
        fields = body.get("fields") if isinstance(body.get("fields"), dict) else {}
        raise ApiError(
            response.status_code,
            str(body.get("error") or "error"),
            str(body.get("message") or response.reason or ""),
            {str(k): [str(m) for m in v] for k, v in (fields or {}).items()},
        )

    @staticmethod
    def _user_path(customer_number: str, user_id: str) -> str:
        return f"/customers/{quote(customer_number, safe='')}/users/{quote(user_id, safe='')}"

    def permissions(self) -> list[dict[str, Any]]:
        return list(self._request("GET", "/permissions"))

    def users(self, customer_number: str, *, search: str, page: int, per_page: int) -> Any:
        return self._request(
            "GET",
            f"/customers/{quote(customer_number, safe='')}/users",
            params={"search": search, "page": page, "per_page": per_page},
        )

    def user(self, customer_number: str, user_id: str) -> dict[str, Any]:
        return dict(self._request("GET", self._user_path(customer_number, user_id)))

    def set_permissions(self, customer_number: str, user_id: str, codes: list[str]) -> Any:
        path = self._user_path(customer_number, user_id) + "/permissions"
        return self._request("PUT", path, json={"permissions": codes})

    def action(self, customer_number: str, user_id: str, action: str) -> Any:
        """``lock``, ``unlock``, ``activate`` or ``resign``."""
        return self._request("POST", self._user_path(customer_number, user_id) + "/" + action)

    def delete(self, customer_number: str, user_id: str) -> None:
        self._request("DELETE", self._user_path(customer_number, user_id))

    def changelog(
        self, customer_number: str, user_id: str, *, search: str, page: int, per_page: int
    ) -> Any:
        return self._request(
            "GET",
            self._user_path(customer_number, user_id) + "/changelog",
            params={"search": search, "page": page, "per_page": per_page},
        )

    def invite(self, customer_number: str, invitation: dict[str, Any]) -> Any:
        path = f"/customers/{quote(customer_number, safe='')}/invitations"
        return self._request("POST", path, json=invitation)
