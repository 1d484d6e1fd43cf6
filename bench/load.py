#!/usr/bin/env python3
"""Small, dependency-free HTTP load driver for benchmarking an OIDC provider.

Stdlib only. Loopback only: every connection goes to the host of ``base_url``,
which must be a loopback address (127.0.0.1, ::1 or localhost); every run is
bounded by a request budget *and* a wall-clock limit, and every socket has a
timeout.

Library use::

    import load
    disco = load.fetch_discovery("http://127.0.0.1:5000")
    op = load.client_credentials(disco["token_endpoint"], "bench", "secret")
    result = load.run_scenario("client_credentials", op,
                               base_url="http://127.0.0.1:5000",
                               concurrency=4, requests=1000,
                               duration_limit=30, server_pids=[gunicorn_pid])
    load.print_table([result])

A *make_request* callable takes one persistent ``http.client.HTTPConnection``
(keep-alive; it reconnects by itself after the server closes it or after an
error) and performs one logical operation, which may be several HTTP calls.
It signals failure by raising (or by returning ``False``). Use ``call()`` to
issue calls and ``expect()`` to check statuses. Inside make_request,
``worker_index()`` returns the index (0..concurrency-1) of the calling worker,
for per-worker state such as refresh-token chains.

CLI use: ``python bench/load.py --help``.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import html
import http.client
import http.cookies
import importlib
import ipaddress
import json
import math
import os
import re
import secrets
import statistics
import sys
import threading
import time
import urllib.parse
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import NamedTuple

__all__ = [
    "CookieJar",
    "Followed",
    "HTTPStatusError",
    "Response",
    "basic_auth",
    "busy_note",
    "call",
    "client_credentials",
    "code_exchange",
    "cpu_delta_ms",
    "cpu_snapshot",
    "discovery",
    "expect",
    "fetch_discovery",
    "follow_redirects",
    "form_action",
    "format_table",
    "jwks",
    "login",
    "path_of",
    "pkce_pair",
    "print_table",
    "refresh",
    "requests_for",
    "run_scenario",
    "system_load",
    "userinfo",
    "worker_index",
]

DEFAULT_BASE_URL = "http://127.0.0.1:5000"
_CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
_local = threading.local()


# --------------------------------------------------------------------------
# loopback guard
# --------------------------------------------------------------------------


def _require_loopback(url: str) -> urllib.parse.SplitResult:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme != "http":
        raise ValueError(f"only plain http:// loopback URLs are supported: {url!r}")
    host = parts.hostname or ""
    if host != "localhost":
        try:
            ok = ipaddress.ip_address(host).is_loopback
        except ValueError:
            ok = False
        if not ok:
            raise ValueError(f"refusing non-loopback host {host!r} in {url!r}")
    return parts


def path_of(url: str) -> str:
    """Path + query of *url* (which must be loopback if absolute)."""
    if url.startswith("/"):
        return url
    parts = _require_loopback(url)
    path = parts.path or "/"
    return f"{path}?{parts.query}" if parts.query else path


# --------------------------------------------------------------------------
# HTTP helpers
# --------------------------------------------------------------------------


class Response:
    __slots__ = ("status", "headers", "body")

    def __init__(self, status: int, headers: list[tuple[str, str]], body: bytes):
        self.status = status
        self.headers = headers
        self.body = body

    def header(self, name: str, default: str | None = None) -> str | None:
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return default

    def header_all(self, name: str) -> list[str]:
        name = name.lower()
        return [v for k, v in self.headers if k.lower() == name]

    def json(self):
        return json.loads(self.body)

    def __repr__(self) -> str:
        return f"<Response {self.status} {len(self.body)}B>"


class HTTPStatusError(Exception):
    def __init__(self, resp: Response, what: str = ""):
        snippet = resp.body[:200].decode("utf-8", "replace")
        super().__init__(f"{what + ': ' if what else ''}HTTP {resp.status} {snippet}")
        self.response = resp


class _Conn(http.client.HTTPConnection):
    """HTTPConnection counting the HTTP calls made and connections opened."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.calls = 0
        self.connects = 0

    def connect(self):
        self.connects += 1
        super().connect()

    def request(self, *args, **kwargs):
        self.calls += 1
        super().request(*args, **kwargs)


_STALE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)


def call(
    conn: http.client.HTTPConnection,
    method: str,
    path: str,
    *,
    body: bytes | str | None = None,
    form: dict | None = None,
    headers: dict | None = None,
    cookies: CookieJar | None = None,
) -> Response:
    """One HTTP call on *conn*; returns the fully read Response.

    ``path`` may be an absolute loopback URL (only its path is used). ``form``
    is sent urlencoded. ``cookies`` (a CookieJar) is sent and updated. A call
    that fails because the server had silently closed a reused keep-alive
    connection is retried once on a fresh connection; any other error closes
    the connection (the next call reconnects) and propagates.
    """
    path = path_of(path)
    hdrs = dict(headers or {})
    if form is not None:
        body = urllib.parse.urlencode(form)
        hdrs.setdefault("Content-Type", "application/x-www-form-urlencoded")
    if cookies is not None:
        cookie = cookies.header_for(path)
        if cookie:
            hdrs["Cookie"] = cookie
    for attempt in (0, 1):
        reused = conn.sock is not None
        try:
            conn.request(method, path, body=body, headers=hdrs)
            resp = conn.getresponse()
            data = resp.read()
        except _STALE:
            conn.close()
            if reused and attempt == 0:
                continue
            raise
        except BaseException:
            conn.close()
            raise
        out = Response(resp.status, resp.getheaders(), data)
        if cookies is not None:
            cookies.update(out, path)
        return out
    raise AssertionError("unreachable")


def expect(resp: Response, *statuses: int, what: str = "") -> Response:
    """Raise HTTPStatusError unless resp.status is one of *statuses* (default 200)."""
    if resp.status not in (statuses or (200,)):
        raise HTTPStatusError(resp, what)
    return resp


def basic_auth(client_id: str, client_secret: str) -> str:
    """Authorization header value for client_secret_basic (RFC 6749 2.3.1)."""
    q = urllib.parse.quote
    raw = f"{q(client_id, safe='')}:{q(client_secret, safe='')}".encode()
    return "Basic " + base64.b64encode(raw).decode("ascii")


def _expired(morsel: http.cookies.Morsel) -> bool:
    try:
        if morsel["max-age"] not in ("", None):
            return int(morsel["max-age"]) <= 0
        if morsel["expires"]:
            return parsedate_to_datetime(morsel["expires"]).timestamp() <= time.time()
    except (TypeError, ValueError):
        return False
    return False


class CookieJar:
    """Minimal per-flow cookie jar (name+path keyed, path-prefix matched)."""

    def __init__(self):
        self._cookies: dict[tuple[str, str], str] = {}

    def update(self, resp: Response, request_path: str) -> None:
        default_path = request_path.split("?", 1)[0].rsplit("/", 1)[0] or "/"
        for raw in resp.header_all("set-cookie"):
            jar = http.cookies.SimpleCookie()
            try:
                jar.load(raw)
            except http.cookies.CookieError:
                continue
            for name, morsel in jar.items():
                key = (name, morsel["path"] or default_path)
                if _expired(morsel):
                    self._cookies.pop(key, None)
                else:
                    self._cookies[key] = morsel.value

    def header_for(self, path: str) -> str:
        """Cookie header value for a request to *path*."""
        path = path.split("?", 1)[0]
        return "; ".join(
            f"{name}={value}"
            for (name, cpath), value in self._cookies.items()
            if path == cpath or path.startswith(cpath.rstrip("/") + "/") or cpath == "/"
        )

    def __len__(self) -> int:
        return len(self._cookies)


class Followed(NamedTuple):
    response: Response  # last response received
    path: str  # path of the last request made
    callback: str | None  # Location that matched stop_prefix (not requested), else None


def follow_redirects(
    conn: http.client.HTTPConnection,
    method: str,
    path: str,
    *,
    jar: CookieJar,
    stop_prefix: str,
    max_hops: int = 10,
    **kwargs,
) -> Followed:
    """Do a call and follow 30x redirects (as GET), like a browser with *jar*.

    Stops *without requesting it* as soon as a Location starts with
    ``stop_prefix`` (e.g. the client's redirect_uri) and returns it as
    ``callback``; otherwise returns at the first non-redirect response.
    Redirects to non-loopback hosts raise ValueError.
    """
    current = path_of(path)
    resp = call(conn, method, current, cookies=jar, **kwargs)
    for _ in range(max_hops):
        if resp.status not in (301, 302, 303, 307, 308):
            return Followed(resp, current, None)
        loc = resp.header("location")
        if not loc:
            raise HTTPStatusError(resp, "redirect without Location")
        if loc.startswith(stop_prefix):
            return Followed(resp, current, loc)
        current = _resolve(current, loc)
        resp = call(conn, "GET", current, cookies=jar)
    raise HTTPStatusError(resp, f"more than {max_hops} redirects")


_FORM_ACTION = re.compile(r"<form\b[^>]*\baction=[\"']([^\"']*)[\"']", re.IGNORECASE)


def form_action(resp: Response, current_path: str, index: int = 0) -> str:
    """Path of the action of the index-th <form> in an HTML response."""
    actions = _FORM_ACTION.findall(resp.body.decode("utf-8", "replace"))
    if len(actions) <= index:
        raise HTTPStatusError(resp, "no <form action=...> in page")
    return _resolve(current_path, html.unescape(actions[index]) or current_path)


def _resolve(current_path: str, ref: str) -> str:
    """Request path for *ref* (absolute loopback URL or relative) seen at current_path."""
    if urllib.parse.urlsplit(ref).scheme:
        return path_of(ref)
    return urllib.parse.urljoin(current_path, ref)


def pkce_pair() -> tuple[str, str]:
    """(code_verifier, S256 code_challenge)."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def code_exchange(
    conn: http.client.HTTPConnection,
    token_endpoint: str,
    client_id: str,
    client_secret: str,
    callback_url: str,
    redirect_uri: str,
    code_verifier: str | None = None,
    state: str | None = None,
) -> dict:
    """Exchange the code found in *callback_url* at the token endpoint."""
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(callback_url).query)
    if "error" in query:
        raise RuntimeError(f"authorization error: {query}")
    if state is not None and query.get("state", [None])[0] != state:
        raise RuntimeError("state mismatch in authorization response")
    form = {
        "grant_type": "authorization_code",
        "code": query["code"][0],
        "redirect_uri": redirect_uri,
    }
    if code_verifier:
        form["code_verifier"] = code_verifier
    resp = call(
        conn,
        "POST",
        token_endpoint,
        form=form,
        headers={"Authorization": basic_auth(client_id, client_secret)},
    )
    return expect(resp, 200, what="code exchange").json()


# --------------------------------------------------------------------------
# server CPU accounting (/proc)
# --------------------------------------------------------------------------


def _read_stat(pid: int) -> tuple[int, int] | None:
    """(starttime, utime+stime) in clock ticks, or None if gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            data = fh.read().decode("ascii", "replace")
    except OSError:
        return None
    # comm (field 2) may contain spaces/parens: split after the last ')'.
    fields = data[data.rindex(")") + 2 :].split()
    # fields[0] is field 3 (state); utime=14, stime=15, starttime=22.
    return int(fields[19]), int(fields[11]) + int(fields[12])


def _children(pid: int) -> list[int]:
    out: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/children") as fh:
                out.extend(int(x) for x in fh.read().split())
        except OSError:
            continue
    return out


def _process_tree(pids) -> list[int]:
    seen: list[int] = []
    stack = [int(p) for p in pids]
    while stack and len(seen) < 10_000:
        pid = stack.pop()
        if pid in seen:
            continue
        seen.append(pid)
        stack.extend(_children(pid))
    return seen


def cpu_snapshot(pids) -> dict[tuple[int, int], int]:
    """{(pid, starttime): utime+stime ticks} for *pids* and all descendants."""
    snap = {}
    for pid in _process_tree(pids):
        st = _read_stat(pid)
        if st is not None:
            snap[(pid, st[0])] = st[1]
    return snap


def cpu_delta_ms(before: dict, after: dict) -> float:
    """CPU ms used between two snapshots by processes alive at the end.

    Processes started in between count from zero; processes that exited in
    between are not counted.
    """
    ticks = sum(max(0, t - before.get(key, 0)) for key, t in after.items())
    return ticks * 1000.0 / _CLK_TCK


# --------------------------------------------------------------------------
# the runner
# --------------------------------------------------------------------------


def _cpu_times() -> tuple[int, int] | None:
    """(busy, total) jiffies of all CPUs from /proc/stat, or None."""
    try:
        with open("/proc/stat") as fh:
            fields = [int(x) for x in fh.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    total = sum(fields[:8])  # user..steal (guest time is already in user)
    return total - idle, total


def system_load(sample_s: float = 1.0) -> dict:
    """How busy the whole machine is right now (call it while the servers under
    test and the driver are idle): other work skews CPU/op and ops/s.

    ``cpu_busy_pct``: share of all CPUs' time spent busy during a short
    ``sample_s`` sample (100 = every CPU busy), from /proc/stat; plus
    ``loadavg_1m`` and ``cpus`` for information (the load average also still
    counts a benchmark that ended within the last minute)."""
    out: dict = {"cpus": os.cpu_count()}
    with contextlib.suppress(OSError):
        out["loadavg_1m"] = round(os.getloadavg()[0], 2)
    a = _cpu_times()
    if a is not None and sample_s > 0:
        time.sleep(sample_s)
        b = _cpu_times()
        if b is not None and b[1] > a[1]:
            out["cpu_busy_pct"] = round(100.0 * (b[0] - a[0]) / (b[1] - a[1]), 1)
    return out


def busy_note(load: dict, threshold_pct: float = 15.0) -> str | None:
    """A warning if other work kept the CPUs busy right before a run."""
    busy = load.get("cpu_busy_pct")
    if busy is not None and busy > threshold_pct:
        return (
            f"WARNING: the machine was {busy:g} % busy right before this run "
            f"({load.get('cpus')} CPUs, load avg {load.get('loadavg_1m')}): numbers are skewed"
        )
    return None


def worker_index() -> int:
    """Index of the calling load worker (0..concurrency-1)."""
    try:
        return _local.index
    except AttributeError:
        raise RuntimeError("worker_index() called outside run_scenario") from None


def _percentile(sorted_vals: list[float], pct: float) -> float | None:
    if not sorted_vals:
        return None
    rank = math.ceil(pct / 100.0 * len(sorted_vals))  # nearest-rank method
    return sorted_vals[min(len(sorted_vals), max(1, rank)) - 1]


def run_scenario(
    name: str,
    make_request,
    *,
    base_url: str = DEFAULT_BASE_URL,
    concurrency: int = 4,
    requests: int = 1000,
    duration_limit: float = 30.0,
    server_pids=(),
    timeout: float = 10.0,
    warmup: int = 0,
    max_errors: int | None = None,
) -> dict:
    """Run *make_request(conn)* ``requests`` times over ``concurrency`` threads.

    Each worker thread owns one persistent HTTPConnection to base_url's host.
    The run stops when the request budget is used up, ``duration_limit``
    seconds have passed, or more than ``max_errors`` operations failed.
    ``warmup`` extra operations (split over the workers, run before the
    measured window, at most duration_limit/2 s) are not counted.
    ``server_pids``: CPU time (utime+stime from /proc) of these processes and
    all their descendants is measured over the measured window.
    Returns a dict (see README for the keys).
    """
    if concurrency < 1 or requests < 1 or duration_limit <= 0:
        raise ValueError("concurrency, requests and duration_limit must be positive")
    max_conc = getattr(make_request, "max_concurrency", None)
    if max_conc is not None and concurrency > max_conc:
        raise ValueError(
            f"{name}: at most {max_conc} workers supported "
            f"(e.g. one refresh token per worker); got {concurrency}"
        )
    parts = _require_loopback(base_url)
    host, port = parts.hostname, parts.port or 80
    server_pids = [int(p) for p in server_pids]

    lock = threading.Lock()
    state = {"issued": 0, "errors": 0}
    stop = threading.Event()
    go = threading.Event()
    ready = threading.Barrier(concurrency + 1)
    latencies: list[float] = []
    error_kinds: dict[str, int] = {}
    totals = {"ops": 0, "ok": 0, "calls": 0, "connects": 0, "warmup_errors": 0}
    warm_each = -(-warmup // concurrency) if warmup > 0 else 0
    warm_deadline = time.monotonic() + duration_limit / 2
    deadline_box = [time.monotonic() + duration_limit]  # reset right before "go"

    def one(conn) -> str | None:
        try:
            if make_request(conn) is False:
                return "make_request returned False"
            return None
        except Exception as exc:  # any failure counts as an error
            conn.close()
            msg = str(exc).splitlines()[0][:120] if str(exc) else ""
            return f"{type(exc).__name__}: {msg}" if msg else type(exc).__name__

    def worker(idx: int) -> None:
        _local.index = idx
        conn = _Conn(host, port, timeout=timeout)
        lat: list[float] = []
        kinds: dict[str, int] = {}
        ops = ok = warm_err = 0
        calls0 = connects0 = 0
        try:
            for _ in range(warm_each):
                if time.monotonic() >= warm_deadline:
                    break
                if one(conn) is not None:
                    warm_err += 1
            calls0, connects0 = conn.calls, conn.connects
            try:
                ready.wait(timeout=duration_limit + timeout)
            except threading.BrokenBarrierError:
                return
            if not go.wait(timeout=duration_limit + timeout):
                return
            deadline = deadline_box[0]
            while not stop.is_set() and time.monotonic() < deadline:
                with lock:
                    if state["issued"] >= requests:
                        break
                    state["issued"] += 1
                t0 = time.perf_counter()
                err = one(conn)
                dt = time.perf_counter() - t0
                ops += 1
                if err is None:
                    ok += 1
                    lat.append(dt)
                else:
                    kinds[err] = kinds.get(err, 0) + 1
                    with lock:
                        state["errors"] += 1
                        if max_errors is not None and state["errors"] > max_errors:
                            stop.set()
        finally:
            conn.close()
            with lock:
                latencies.extend(lat)
                for k, v in kinds.items():
                    error_kinds[k] = error_kinds.get(k, 0) + v
                totals["ops"] += ops
                totals["ok"] += ok
                totals["warmup_errors"] += warm_err
                totals["calls"] += conn.calls - calls0
                totals["connects"] += conn.connects - connects0

    threads = [
        threading.Thread(target=worker, args=(i,), name=f"load-{name}-{i}", daemon=True)
        for i in range(concurrency)
    ]
    for t in threads:
        t.start()
    try:
        ready.wait(timeout=duration_limit + timeout)
    except threading.BrokenBarrierError:
        stop.set()
        raise RuntimeError(f"{name}: workers did not get ready (warmup too slow?)") from None
    # All workers are warmed up and parked: start clock and CPU counters, go.
    cpu0 = cpu_snapshot(server_pids) if server_pids else {}
    own0 = os.times()
    t_start = time.perf_counter()
    deadline_box[0] = time.monotonic() + duration_limit
    go.set()
    hard_stop = time.monotonic() + duration_limit + timeout + 5
    for t in threads:
        t.join(timeout=max(0.0, hard_stop - time.monotonic()))
    stop.set()
    elapsed = time.perf_counter() - t_start
    own1 = os.times()
    cpu1 = cpu_snapshot(server_pids) if server_pids else {}
    hung = sum(t.is_alive() for t in threads)

    with lock:
        lat_sorted = sorted(x * 1000.0 for x in latencies)
        ops, ok = totals["ops"], totals["ok"]
        errors = ops - ok
        if hung:
            error_kinds[f"{hung} worker(s) still blocked at the hard stop"] = hung
        server_ms = cpu_delta_ms(cpu0, cpu1) if server_pids else None
        own_cpu = (own1.user - own0.user) + (own1.system - own0.system)
        if state["issued"] >= requests and ops == requests:
            stopped_by = "requests"
        elif stop.is_set() and max_errors is not None and state["errors"] > max_errors:
            stopped_by = "max_errors"
        else:
            stopped_by = "duration_limit"
        return {
            "name": name,
            "concurrency": concurrency,
            "requests_planned": requests,
            "duration_limit_s": duration_limit,
            "ops": ops,
            "ok": ok,
            "errors": errors,
            "error_kinds": dict(sorted(error_kinds.items(), key=lambda kv: -kv[1])[:10]),
            "warmup_ops": warm_each * concurrency,
            "warmup_errors": totals["warmup_errors"],
            "http_calls": totals["calls"],
            "connections_opened": totals["connects"],
            "elapsed_s": round(elapsed, 4),
            "ops_per_s": round(ok / elapsed, 2) if elapsed > 0 else None,
            "latency_ms": {
                "mean": round(statistics.fmean(lat_sorted), 3) if lat_sorted else None,
                "p50": _round(_percentile(lat_sorted, 50)),
                "p90": _round(_percentile(lat_sorted, 90)),
                "p99": _round(_percentile(lat_sorted, 99)),
                "max": _round(lat_sorted[-1] if lat_sorted else None),
            },
            "server_pids": server_pids,
            "server_procs": len(cpu1),
            "server_cpu_ms": round(server_ms, 1) if server_ms is not None else None,
            "server_cpu_ms_per_op": round(server_ms / ops, 3)
            if server_ms is not None and ops
            else None,
            "server_cpu_pct": round(100.0 * server_ms / 1000.0 / elapsed, 1)
            if server_ms is not None and elapsed > 0
            else None,
            "client_cpu_pct": round(100.0 * own_cpu / elapsed, 1) if elapsed > 0 else None,
            "clock_tick_ms": 1000.0 / _CLK_TCK,
            "stopped_by": stopped_by,
        }


def _round(v: float | None) -> float | None:
    return None if v is None else round(v, 3)


# --------------------------------------------------------------------------
# output
# --------------------------------------------------------------------------

_COLUMNS = [
    ("scenario", lambda r: r["name"], "<"),
    ("conc", lambda r: r["concurrency"], ">"),
    ("ops", lambda r: r["ops"], ">"),
    ("errors", lambda r: r["errors"], ">"),
    ("http/op", lambda r: f"{r['http_calls'] / r['ops']:.1f}" if r["ops"] else "-", ">"),
    ("ops/s", lambda r: _fmt(r["ops_per_s"], 1), ">"),
    ("p50 ms", lambda r: _fmt(r["latency_ms"]["p50"], 2), ">"),
    ("p99 ms", lambda r: _fmt(r["latency_ms"]["p99"], 2), ">"),
    ("srv CPU ms/op", lambda r: _fmt(r["server_cpu_ms_per_op"], 3), ">"),
    ("srv CPU %", lambda r: _fmt(r["server_cpu_pct"], 0), ">"),
    ("client CPU %", lambda r: _fmt(r["client_cpu_pct"], 0), ">"),
    ("stop", lambda r: r["stopped_by"], "<"),
]


def _fmt(v, digits: int) -> str:
    return "-" if v is None else f"{v:.{digits}f}"


def format_table(results: list[dict]) -> str:
    rows = [[str(get(r)) for _, get, _ in _COLUMNS] for r in results]
    heads = [h for h, _, _ in _COLUMNS]
    widths = [
        max(len(h), *(len(row[i]) for row in rows)) if rows else len(h) for i, h in enumerate(heads)
    ]

    def line(cells):
        return "  ".join(
            c.ljust(w) if align == "<" else c.rjust(w)
            for c, w, (_, _, align) in zip(cells, widths, _COLUMNS, strict=True)
        ).rstrip()

    out = [line(heads), line(["-" * w for w in widths])]
    out.extend(line(row) for row in rows)
    for r in results:
        for kind, n in r["error_kinds"].items():
            out.append(f"  ! {r['name']}: {n} x {kind}")
    return "\n".join(out)


def print_table(results: list[dict], file=None) -> None:
    print(format_table(results), file=file or sys.stdout, flush=True)


# --------------------------------------------------------------------------
# scenario builders (each returns a make_request(conn) callable)
# --------------------------------------------------------------------------


def fetch_discovery(base_url: str, timeout: float = 10.0) -> dict:
    """GET {base_url}/.well-known/openid-configuration once and return it."""
    parts = _require_loopback(base_url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=timeout)
    try:
        resp = call(conn, "GET", parts.path.rstrip("/") + "/.well-known/openid-configuration")
        return expect(resp, 200, what="discovery").json()
    finally:
        conn.close()


def discovery(base_url: str):
    """GET /.well-known/openid-configuration (under base_url's path)."""
    path = _require_loopback(base_url).path.rstrip("/") + "/.well-known/openid-configuration"

    def op(conn):
        doc = expect(call(conn, "GET", path), 200, what="discovery").json()
        if "issuer" not in doc:
            raise ValueError("discovery document without issuer")

    return op


def jwks(jwks_uri: str):
    """GET the jwks_uri (from discovery)."""
    path = path_of(jwks_uri)

    def op(conn):
        doc = expect(call(conn, "GET", path), 200, what="jwks").json()
        if not doc.get("keys"):
            raise ValueError("JWKS without keys")

    return op


def client_credentials(
    token_endpoint: str,
    client_id: str,
    client_secret: str,
    scope: str | None = None,
    extra: dict | None = None,
):
    """POST grant_type=client_credentials with client_secret_basic."""
    path = path_of(token_endpoint)
    headers = {"Authorization": basic_auth(client_id, client_secret), "Accept": "application/json"}
    form = {"grant_type": "client_credentials", **(extra or {})}
    if scope:
        form["scope"] = scope

    def op(conn):
        body = expect(
            call(conn, "POST", path, form=form, headers=headers), 200, what="client_credentials"
        ).json()
        if "access_token" not in body:
            raise ValueError("token response without access_token")

    return op


def refresh(
    token_endpoint: str,
    client_id: str,
    client_secret: str,
    refresh_tokens: list[str],
    scope: str | None = None,
):
    """POST grant_type=refresh_token; one rotating chain per worker.

    Worker i starts from ``refresh_tokens[i]`` and continues with the
    refresh_token returned by each response (kept if none is returned), so
    len(refresh_tokens) must be >= concurrency. The chains live in the
    returned callable, so running it again continues them.
    """
    if not refresh_tokens:
        raise ValueError("refresh: need at least one refresh token")
    path = path_of(token_endpoint)
    headers = {"Authorization": basic_auth(client_id, client_secret), "Accept": "application/json"}
    chains = list(refresh_tokens)

    def op(conn):
        i = worker_index()
        form = {"grant_type": "refresh_token", "refresh_token": chains[i]}
        if scope:
            form["scope"] = scope
        body = expect(
            call(conn, "POST", path, form=form, headers=headers), 200, what="refresh"
        ).json()
        if "access_token" not in body:
            raise ValueError("refresh response without access_token")
        if body.get("refresh_token"):
            chains[i] = body["refresh_token"]

    op.max_concurrency = len(chains)
    op.chains = chains
    return op


def userinfo(userinfo_endpoint: str, access_tokens: list[str] | str):
    """GET userinfo with a bearer token (worker i uses tokens[i % n])."""
    tokens = [access_tokens] if isinstance(access_tokens, str) else list(access_tokens)
    if not tokens:
        raise ValueError("userinfo: need at least one access token")
    path = path_of(userinfo_endpoint)
    headers = [{"Authorization": f"Bearer {t}", "Accept": "application/json"} for t in tokens]

    def op(conn):
        doc = expect(
            call(conn, "GET", path, headers=headers[worker_index() % len(headers)]),
            200,
            what="userinfo",
        ).json()
        if "sub" not in doc:
            raise ValueError("userinfo without sub")

    return op


def login(flow):
    """A full interactive login is provider-specific: pass flow(conn).

    ``flow`` performs the whole login on the given connection (use
    CookieJar, follow_redirects, pkce_pair and code_exchange) and raises on
    failure; it is returned as the make_request callable unchanged.
    """
    if not callable(flow):
        raise TypeError("login flow must be callable(conn)")
    return flow


# --------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------

ALL_SCENARIOS = ("discovery", "jwks", "client_credentials", "refresh", "userinfo", "login")


def _load_callable(spec: str):
    mod_name, _, attr = spec.partition(":")
    if not attr:
        raise SystemExit(f"--login-flow must look like module:function, got {spec!r}")
    if os.getcwd() not in sys.path:
        sys.path.append(os.getcwd())  # so that e.g. the project package imports
    return getattr(importlib.import_module(mod_name), attr)


def _read_lines(path: str) -> list[str]:
    return [ln.strip() for ln in Path(path).read_text().splitlines() if ln.strip()]


def build_scenarios(args, disco: dict) -> tuple[list[tuple[str, object]], list[str]]:
    """(name, make_request) pairs requested on the command line, and skip notes."""
    wanted = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    unknown = set(wanted) - set(ALL_SCENARIOS)
    if unknown:
        raise SystemExit(f"unknown scenario(s): {', '.join(sorted(unknown))}")
    refresh_tokens = list(args.refresh_token or [])
    if args.refresh_tokens_file:
        refresh_tokens += _read_lines(args.refresh_tokens_file)
    access_tokens = list(args.access_token or [])
    out, skipped = [], []
    for name in wanted:
        if name == "discovery":
            out.append((name, discovery(args.base_url)))
        elif name == "jwks":
            out.append((name, jwks(disco["jwks_uri"])))
        elif name == "client_credentials":
            if not args.client_id:
                skipped.append("client_credentials: no --client-id/--client-secret")
                continue
            out.append(
                (
                    name,
                    client_credentials(
                        disco["token_endpoint"],
                        args.client_id,
                        args.client_secret or "",
                        scope=args.cc_scope,
                    ),
                )
            )
        elif name == "refresh":
            if not (args.client_id and refresh_tokens):
                skipped.append("refresh: needs --client-id and --refresh-token(s-file)")
                continue
            if len(refresh_tokens) < args.concurrency:
                skipped.append(
                    f"refresh: {len(refresh_tokens)} refresh token(s) for "
                    f"{args.concurrency} workers (need one per worker)"
                )
                continue
            out.append(
                (
                    name,
                    refresh(
                        disco["token_endpoint"],
                        args.client_id,
                        args.client_secret or "",
                        refresh_tokens,
                    ),
                )
            )
        elif name == "userinfo":
            if not access_tokens:
                skipped.append("userinfo: needs --access-token")
                continue
            out.append((name, userinfo(disco["userinfo_endpoint"], access_tokens)))
        elif name == "login":
            if not args.login_flow:
                skipped.append("login: needs --login-flow module:function")
                continue
            factory = _load_callable(args.login_flow)
            out.append(
                (name, login(factory(args.base_url, disco, args.client_id, args.client_secret)))
            )
    return out, skipped


def add_run_arguments(p: argparse.ArgumentParser) -> None:
    """Options shared by load.py and the peer runners."""
    p.add_argument("--concurrency", "-c", type=int, default=4, help="worker threads (default 4)")
    p.add_argument(
        "--requests", "-n", type=int, default=1000, help="operations per scenario (default 1000)"
    )
    p.add_argument(
        "--duration",
        "-d",
        type=float,
        default=30.0,
        help="wall-clock limit per scenario in seconds (default 30)",
    )
    p.add_argument(
        "--warmup",
        type=int,
        default=0,
        help="unmeasured warm-up operations per scenario (default 0)",
    )
    p.add_argument(
        "--login-requests",
        type=int,
        default=None,
        metavar="N",
        help="operations for the login scenario (default: --requests)",
    )
    p.add_argument("--timeout", type=float, default=10.0, help="socket timeout in s (default 10)")
    p.add_argument("--json", metavar="OUT", help="also write the results as JSON to OUT")


def requests_for(args, name: str) -> int:
    """Request budget for scenario *name* (``--login-requests`` for login)."""
    if name == "login" and getattr(args, "login_requests", None):
        return args.login_requests
    return args.requests


def run_all(scenarios, *, base_url: str, args, server_pids) -> list[dict]:
    results = []
    for name, op in scenarios:
        print(f"running {name} ...", file=sys.stderr, flush=True)
        results.append(
            run_scenario(
                name,
                op,
                base_url=base_url,
                concurrency=args.concurrency,
                requests=requests_for(args, name),
                duration_limit=args.duration,
                server_pids=server_pids,
                timeout=args.timeout,
                warmup=args.warmup,
            )
        )
    return results


def write_json(path: str, results: list[dict], **meta) -> None:
    Path(path).write_text(json.dumps({"meta": meta, "results": results}, indent=2) + "\n")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--base-url",
        default=DEFAULT_BASE_URL,
        help=f"provider base URL, loopback only (default {DEFAULT_BASE_URL})",
    )
    p.add_argument(
        "--scenarios",
        default=",".join(ALL_SCENARIOS),
        help="comma list of: " + ", ".join(ALL_SCENARIOS) + " (those lacking inputs are skipped)",
    )
    p.add_argument("--client-id")
    p.add_argument("--client-secret")
    p.add_argument("--cc-scope", help="scope for client_credentials requests")
    p.add_argument(
        "--refresh-token", action="append", help="initial refresh token (repeat: one per worker)"
    )
    p.add_argument("--refresh-tokens-file", help="file with one initial refresh token per line")
    p.add_argument("--access-token", action="append", help="bearer token for userinfo (repeatable)")
    p.add_argument(
        "--login-flow",
        metavar="MODULE:FACTORY",
        help="factory(base_url, discovery, client_id, client_secret) returning "
        "a make_request(conn) that performs one full login",
    )
    p.add_argument(
        "--pid",
        type=int,
        action="append",
        default=[],
        help="server pid to measure (children included; repeatable)",
    )
    p.add_argument("--pid-file", action="append", default=[], help="file containing a server pid")
    add_run_arguments(p)
    args = p.parse_args(argv)

    pids = list(args.pid) + [int(Path(f).read_text().split()[0]) for f in args.pid_file]
    disco = fetch_discovery(args.base_url, timeout=args.timeout)
    scenarios, skipped = build_scenarios(args, disco)
    for note in skipped:
        print(f"skipped {note}", file=sys.stderr)
    results = run_all(scenarios, base_url=args.base_url, args=args, server_pids=pids)
    print_table(results)
    if not pids:
        print("(no --pid given: server CPU not measured)")
    if args.json:
        write_json(args.json, results, base_url=args.base_url, skipped=skipped, server_pids=pids)
    return 1 if any(r["errors"] for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
