"""A relying party driving the provider through HTTP, as a browser and an RP
backend would: authorize, log in, consent, exchange, refresh."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from typing import Any
from urllib.parse import parse_qs, urlsplit

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
RID = re.compile(r'name="rid" value="([^"]*)"')


def csrf_token(page: TestResponse) -> str:
    match = CSRF.search(page.get_data(as_text=True))
    assert match, "no CSRF token on the page"
    return match.group(1)


def query(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def basic(client_id: str, secret: str) -> dict[str, str]:
    raw = f"{client_id}:{secret}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


class RelyingParty:
    def __init__(
        self, http: FlaskClient, client_id: str, secret: str | None, redirect_uri: str
    ) -> None:
        self.http = http
        self.client_id = client_id
        self.secret = secret
        self.redirect_uri = redirect_uri
        self.verifier = secrets.token_urlsafe(48)
        self.nonce = secrets.token_urlsafe(12)
        self.state = secrets.token_urlsafe(12)

    def params(self, **extra: Any) -> dict[str, str]:
        """Authorization request parameters; empty strings drop a parameter."""
        challenge = (
            base64.urlsafe_b64encode(hashlib.sha256(self.verifier.encode()).digest())
            .rstrip(b"=")
            .decode()
        )
        params = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "scope": "openid profile email",
            "state": self.state,
            "nonce": self.nonce,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
        params.update({k: v for k, v in extra.items() if v is not None})
        return {k: v for k, v in params.items() if v != ""}

    def authorize(self, **extra: Any) -> TestResponse:
        self.nonce = secrets.token_urlsafe(12)  # a nonce is single-use for the client too
        return self.http.get("/authorize", query_string=self.params(**extra))

    def submit_login(self, login_page: TestResponse, email: str, password: str) -> TestResponse:
        rid = RID.search(login_page.get_data(as_text=True))
        return self.http.post(
            "/login",
            data={
                "csrf_token": csrf_token(login_page),
                "rid": rid.group(1) if rid else "",
                "email": email,
                "password": password,
            },
        )

    def follow(self, response: TestResponse) -> TestResponse:
        """Follow redirects inside the provider; stop at the client's redirect URI."""
        for _ in range(10):
            location = response.headers.get("Location", "")
            if response.status_code not in (302, 303) or location.startswith(self.redirect_uri):
                return response
            response = self.http.get(location)
        raise AssertionError("redirect loop")

    def sign_in(
        self, email: str, password: str, consent: bool = True, **extra: Any
    ) -> dict[str, str]:
        """The whole front channel; returns the callback's query parameters."""
        response = self.follow(self.authorize(**extra))
        if response.status_code == 200 and b'id="login-submit"' in response.data:
            response = self.follow(self.submit_login(response, email, password))
        if response.status_code == 200 and b'id="consent-allow"' in response.data:
            response = self.follow(
                self.http.post(
                    "/consent",
                    data={
                        "csrf_token": csrf_token(response),
                        "rid": RID.search(response.get_data(as_text=True)).group(1),  # type: ignore[union-attr]
                        "decision": "allow" if consent else "deny",
                    },
                )
            )
        assert response.status_code == 302, response.get_data(as_text=True)[:2000]
        assert response.headers["Location"].startswith(self.redirect_uri)
        return query(response.headers["Location"])

    def token(self, **form: str) -> TestResponse:
        headers = basic(self.client_id, self.secret) if self.secret else {}
        if not self.secret:
            form.setdefault("client_id", self.client_id)
        return self.http.post("/token", data=form, headers=headers)

    def exchange(self, code: str, **extra: str) -> TestResponse:
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.redirect_uri,
            "code_verifier": self.verifier,
        }
        form.update(extra)
        return self.token(**form)

    def refresh(self, refresh_token: str, **extra: str) -> TestResponse:
        return self.token(grant_type="refresh_token", refresh_token=refresh_token, **extra)

    def tokens_for(self, email: str, password: str, **extra: Any) -> dict[str, Any]:
        callback = self.sign_in(email, password, **extra)
        response = self.exchange(callback["code"])
        assert response.status_code == 200, response.json
        return response.json  # type: ignore[return-value]
