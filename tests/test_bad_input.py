"""Malformed, oversized and odd requests to every endpoint: an OAuth error or an
error page, never a 500 and never a traceback."""

from __future__ import annotations

import os

import pytest

ENDPOINTS = [
    ("GET", "/.well-known/openid-configuration"),
    ("GET", "/jwks"),
    ("GET", "/authorize"),
    ("POST", "/authorize"),
    ("GET", "/authorize/continue"),
    ("GET", "/consent"),
    ("POST", "/consent"),
    ("POST", "/token"),
    ("POST", "/revoke"),
    ("POST", "/introspect"),
    ("GET", "/userinfo"),
    ("POST", "/userinfo"),
    ("GET", "/logout"),
    ("POST", "/logout"),
    ("POST", "/logout/confirm"),
    ("GET", "/login"),
    ("POST", "/login"),
    ("GET", "/account/"),
    ("GET", "/register/"),
    ("POST", "/register/"),
    ("GET", "/verify/"),
    ("POST", "/verify/"),
    ("POST", "/verify/resend"),
    ("POST", "/verify/cancel"),
    ("GET", "/verify/change-email"),
    ("POST", "/verify/change-email"),
    ("GET", "/recovery/"),
    ("POST", "/recovery/"),
    ("GET", "/recovery/password/not-a-token"),
    ("POST", "/recovery/password/not-a-token"),
    ("GET", "/recovery/unblock/not-a-token"),
    ("POST", "/recovery/unblock/not-a-token"),
    ("POST", "/account/profile"),
    ("POST", "/account/password"),
    ("POST", "/account/sessions/end-others"),
    ("POST", "/account/sessions/unknown/end"),
    ("GET", "/account/delete"),
    ("POST", "/account/delete"),
]
PAYLOADS = {
    "binary": {"data": bytes(range(256)) * 4, "content_type": "application/octet-stream"},
    "bad-form": {"data": b"%%%=&&&=%zz\xff", "content_type": "application/x-www-form-urlencoded"},
    "bad-json": {"data": b"{nope", "content_type": "application/json"},
    "huge": {"data": {"x": "y" * 100_000}},
    "odd-query": {
        "query_string": "client_id=%00&redirect_uri=%ff&scope="
        + "a" * 5000
        + "&rid=../../etc&state=%0d%0aSet-Cookie:x"
    },
    "nul-credentials": {
        "headers": {"Authorization": "Basic AGE6AGI="},  # "\0a:\0b"
        "data": {"grant_type": "client_credentials", "token": "\x00"},
    },
    "array-params": {"query_string": "client_id=a&client_id=b&response_type=code&response_type=x"},
}


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
@pytest.mark.parametrize("payload", PAYLOADS)
def test_bad_input_never_breaks_an_endpoint(client, oauth_client, method, path, payload):
    kwargs = dict(PAYLOADS[payload])
    if method == "GET":
        kwargs.pop("data", None)
        kwargs.pop("content_type", None)
    response = client.open(path, method=method, **kwargs)
    assert response.status_code < 500, response.get_data(as_text=True)[:300]
    body = response.get_data(as_text=True)
    assert "Traceback" not in body
    assert response.mimetype in ("application/json", "application/jwk-set+json", "text/html")
    if response.mimetype == "application/json" and response.status_code >= 400:
        assert "error" in response.json
    assert "\r\nSet-Cookie: x" not in str(response.headers)


@pytest.mark.config(
    server={
        "issuer": "https://id.example",
        "secret_key": "a-production-secret-of-enough-length-42",
    },
    mfa={"encryption_key": "another-production-secret-of-length-42"},
    sms={"backend": "http", "url": "https://sms.example/send"},
)
def test_https_issuer_adds_hsts_and_secure_cookies(web):
    client = web.test_client()
    response = client.get("/login", base_url="https://id.example")
    assert "max-age=31536000" in response.headers["Strict-Transport-Security"]
    assert "Secure" in response.headers["Set-Cookie"]


@pytest.mark.skipif(not os.environ.get("IDP_TEST_REDIS_URL"), reason="no Redis given")
def test_rate_limits_can_live_in_redis(app, database, tmp_path):
    import redis

    from idp import create_app
    from idp.store import db
    from tests.conftest import make_config
    from tests.support.oidc import csrf_token

    url = os.environ["IDP_TEST_REDIS_URL"]
    redis.Redis.from_url(url).flushdb()
    config = make_config(
        database,
        tmp_path,
        security={"ratelimit_storage_uri": url, "login_limit_ip": "2 per minute"},
    )
    apps = [create_app(config) for _ in range(2)]
    workers = [a.test_client() for a in apps]

    def attempt(client):
        page = client.get("/login")
        return client.post(
            "/login",
            data={"csrf_token": csrf_token(page), "email": "x@example.de", "password": "x"},
        ).status_code

    try:
        assert [attempt(c) for c in (workers[0], workers[1], workers[0])] == [401, 401, 429]
    finally:
        for worker_app in apps:
            with worker_app.app_context():
                db.engine.dispose()
