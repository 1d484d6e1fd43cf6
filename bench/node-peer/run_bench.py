#!/usr/bin/env python3
"""Benchmark the node-oidc-provider reference peer with bench/load.py.

Installs the peer's npm dependencies if node_modules is missing (``npm ci``
from the committed package-lock.json), starts ``node server.mjs`` on
127.0.0.1, runs the scenarios, prints the table and stops the peer again.
Server CPU is measured on the node process (and any children).

    /tmp/venv/bin/python bench/node-peer/run_bench.py -n 300 -c 4 -d 30

The code-flow login is driven through node-oidc-provider's devInteractions
with plain HTTP (GET /auth -> login form POST -> consent form POST -> code
exchange); its tokens feed the refresh and userinfo scenarios.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import load  # noqa: E402  (bench/load.py, found via the path above)

CLIENT_ID = "bench"
CLIENT_SECRET = os.environ.get(
    "BENCH_CLIENT_SECRET", "bench-secret-loopback-only-not-for-production"
)
REDIRECT_URI = "http://127.0.0.1:9/cb"  # never contacted: the flow stops at it
LOGIN_SCOPE = "openid offline_access email"
SCENARIOS = ("discovery", "jwks", "client_credentials", "login", "userinfo", "refresh")


def ensure_node_modules(timeout: float) -> None:
    if (HERE / "node_modules" / "oidc-provider" / "package.json").is_file():
        return
    npm = shutil.which("npm")
    if not npm:
        raise SystemExit("npm not found; install Node.js >= 20")
    cmd = [
        npm,
        "ci" if (HERE / "package-lock.json").is_file() else "install",
        "--no-audit",
        "--no-fund",
        "--ignore-scripts",
    ]
    print(f"$ {' '.join(cmd)}  (in {HERE})", file=sys.stderr, flush=True)
    subprocess.run(cmd, cwd=HERE, check=True, timeout=timeout)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_peer(port: int, log_path: Path, ready_timeout: float = 30.0) -> subprocess.Popen:
    node = shutil.which("node")
    if not node:
        raise SystemExit("node not found")
    log = open(log_path, "wb")  # noqa: SIM115 - owned by the child for its lifetime
    env = {**os.environ, "BENCH_CLIENT_SECRET": CLIENT_SECRET}
    proc = subprocess.Popen(
        [node, "server.mjs", str(port)],
        cwd=HERE,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    log.close()
    deadline = time.monotonic() + ready_timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"peer exited with {proc.returncode}:\n{log_path.read_text()}")
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        try:
            conn.request("GET", "/.well-known/openid-configuration")
            if conn.getresponse().status == 200:
                return proc
        except OSError:
            pass
        finally:
            conn.close()
        time.sleep(0.2)
    stop_peer(proc)
    raise SystemExit(f"peer not ready after {ready_timeout}s:\n{log_path.read_text()}")


def stop_peer(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


def devinteractions_login(disco: dict):
    """make_request(conn) doing one full code flow (PKCE) through devInteractions.

    Returns the token response. 8 HTTP calls: GET /auth (303), GET login
    form, POST login (303), GET /auth/:uid (303), GET consent form, POST
    consent (303), GET /auth/:uid (303 to redirect_uri, not followed),
    POST /token.
    """
    auth_path = load.path_of(disco["authorization_endpoint"])
    token_endpoint = disco["token_endpoint"]
    users = itertools.count(1)

    def flow(conn):
        jar = load.CookieJar()
        verifier, challenge = load.pkce_pair()
        state = secrets.token_urlsafe(12)
        query = urllib.parse.urlencode(
            {
                "client_id": CLIENT_ID,
                "response_type": "code",
                "redirect_uri": REDIRECT_URI,
                "scope": LOGIN_SCOPE,
                "prompt": "consent",  # required by node-oidc-provider for offline_access
                "state": state,
                "nonce": secrets.token_urlsafe(12),
                "code_challenge": challenge,
                "code_challenge_method": "S256",
            }
        )
        page = load.follow_redirects(
            conn, "GET", f"{auth_path}?{query}", jar=jar, stop_prefix=REDIRECT_URI
        )
        load.expect(page.response, 200, what="login page")
        page = load.follow_redirects(
            conn,
            "POST",
            load.form_action(page.response, page.path),
            jar=jar,
            stop_prefix=REDIRECT_URI,
            form={"prompt": "login", "login": f"user{next(users)}", "password": "x"},
        )
        load.expect(page.response, 200, what="consent page")
        page = load.follow_redirects(
            conn,
            "POST",
            load.form_action(page.response, page.path),
            jar=jar,
            stop_prefix=REDIRECT_URI,
            form={"prompt": "consent"},
        )
        if page.callback is None:
            raise load.HTTPStatusError(page.response, "no redirect to redirect_uri")
        tokens = load.code_exchange(
            conn,
            token_endpoint,
            CLIENT_ID,
            CLIENT_SECRET,
            page.callback,
            REDIRECT_URI,
            verifier,
            state,
        )
        if "refresh_token" not in tokens or "id_token" not in tokens:
            raise ValueError(f"code flow returned {sorted(tokens)}")
        return tokens

    return load.login(flow)


def login_factory(base_url: str, discovery: dict, client_id=None, client_secret=None):
    """Hook for ``load.py --login-flow run_bench:login_factory`` (run from this dir)."""
    return devinteractions_login(discovery)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--port", type=int, default=0, help="peer port (default: a free one)")
    p.add_argument(
        "--scenarios", default=",".join(SCENARIOS), help=f"comma list of: {', '.join(SCENARIOS)}"
    )
    p.add_argument("--npm-timeout", type=float, default=600.0, help="limit for npm ci in seconds")
    load.add_run_arguments(p)


def run(args) -> tuple[list[dict], dict]:
    """Install if needed, start the peer, run the scenarios, stop it.

    Returns (results, meta). ``args`` as parsed by add_arguments.
    """
    wanted = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    unknown = set(wanted) - set(SCENARIOS)
    if unknown:
        raise SystemExit(f"unknown scenario(s): {', '.join(sorted(unknown))}")

    ensure_node_modules(args.npm_timeout)
    load_before = load.system_load()
    if load.busy_note(load_before):
        print(load.busy_note(load_before), file=sys.stderr, flush=True)
    port = args.port or free_port()
    base_url = f"http://127.0.0.1:{port}"
    log_path = Path(tempfile.gettempdir()) / f"node-peer-{port}.log"
    proc = start_peer(port, log_path)
    try:
        version = (
            subprocess.run(
                ["node", "-p", "require('oidc-provider/package.json').version"],
                cwd=HERE,
                capture_output=True,
                text=True,
                timeout=30,
                check=False,
            ).stdout.strip()
            or "?"
        )
        print(
            f"node-oidc-provider {version} on {base_url} (pid {proc.pid}, log {log_path})",
            file=sys.stderr,
            flush=True,
        )
        disco = load.fetch_discovery(base_url, timeout=args.timeout)
        login_flow = devinteractions_login(disco)
        seeds: list[dict] = []

        def seed_tokens() -> list[dict]:
            # One login per worker, sequentially on one connection (bounded).
            # Done lazily, right before the scenarios needing them: the peer's
            # dev in-memory adapter is an LRU of 1000 entries, so a long login
            # scenario would evict tokens minted before it.
            if not seeds:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=args.timeout)
                try:
                    seeds.extend(login_flow(conn) for _ in range(args.concurrency))
                finally:
                    conn.close()
            return seeds

        builders = {
            "discovery": lambda: load.discovery(base_url),
            "jwks": lambda: load.jwks(disco["jwks_uri"]),
            "client_credentials": lambda: load.client_credentials(
                disco["token_endpoint"], CLIENT_ID, CLIENT_SECRET, scope="api:read"
            ),
            "login": lambda: login_flow,
            "userinfo": lambda: load.userinfo(
                disco["userinfo_endpoint"], [t["access_token"] for t in seed_tokens()]
            ),
            "refresh": lambda: load.refresh(
                disco["token_endpoint"],
                CLIENT_ID,
                CLIENT_SECRET,
                [t["refresh_token"] for t in seed_tokens()],
            ),
        }
        results = []
        for name in wanted:
            print(f"running {name} ...", file=sys.stderr, flush=True)
            results.append(
                load.run_scenario(
                    name,
                    builders[name](),
                    base_url=base_url,
                    concurrency=args.concurrency,
                    requests=load.requests_for(args, name),
                    duration_limit=args.duration,
                    server_pids=[proc.pid],
                    timeout=args.timeout,
                    warmup=args.warmup,
                )
            )
    finally:
        stop_peer(proc)
    meta = {
        "peer": "node-oidc-provider",
        "version": version,
        "load_before": load_before,
        "load_after": load.system_load(),
        "base_url": base_url,
        "server_pid": proc.pid,
        "concurrency": args.concurrency,
        "requests": args.requests,
        "login_requests": load.requests_for(args, "login"),
        "duration_limit_s": args.duration,
        "warmup": args.warmup,
    }
    return results, meta


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_arguments(p)
    p.set_defaults(requests=300)
    args = p.parse_args(argv)
    results, meta = run(args)
    print(
        f"node-oidc-provider {meta['version']}, pid {meta['server_pid']}, "
        f"concurrency {args.concurrency}, {args.requests} ops/scenario "
        f"(login {meta['login_requests']}), limit {args.duration:g}s, warmup {args.warmup}"
    )
    if load.busy_note(meta["load_before"]):
        print(load.busy_note(meta["load_before"]))
    load.print_table(results)
    if args.json:
        load.write_json(args.json, results, **meta)
    return 1 if any(r["errors"] for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
