"""The client's address as far as configured proxies vouch for it.

``create_app`` installs werkzeug's ProxyFix with ``server.trusted_proxies`` hops,
so a spoofed ``X-Forwarded-For`` from a direct client is ignored."""

from flask import request


def client_ip() -> str:
    return request.remote_addr or "unknown"
