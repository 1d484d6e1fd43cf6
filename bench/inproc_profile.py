#!/usr/bin/env python3
"""CPU cost and cProfile hot spots of our app per scenario, in-process (no
gunicorn, no TCP).

Provisions a throw-away instance exactly like bench/run_idp.py (temp data
dir, ``idp db upgrade``, bench client and user via the CLI), then builds the
app in this process with ``idp.create_app`` and drives it through a fake
``HTTPConnection`` that calls the WSGI app directly -- so the scenario
builders of load.py and run_idp.py's login flow run unchanged. A small WSGI
wrapper measures CPU time (``time.process_time``) spent *inside the app*
only (the driver's own work is excluded), and profiles that part with
cProfile using the same CPU clock, so time blocked in fsync or sleeps does
not count.

    /tmp/venv/bin/python bench/inproc_profile.py -n 500 --login-requests 50 \\
        [--scenarios refresh,userinfo] [--top 20] [--no-profile]

Output per scenario: app CPU ms/op without the profiler (compare with
run_idp.py's server CPU ms/op: the difference is gunicorn + TCP + process
overhead), then the top functions by own time (tottime) and by cumulative
time, as shares of the profiled app CPU. cProfile's per-call overhead
inflates code with many small calls; read the shares as a ranking.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from werkzeug.test import EnvironBuilder, run_wsgi_app

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import load  # noqa: E402
import run_idp  # noqa: E402


class CPUMeter:
    """WSGI wrapper: accumulates process CPU time spent in the wrapped app and
    optionally profiles exactly that part."""

    def __init__(self, app):
        self.app = app
        self.cpu = 0.0
        self.calls = 0
        self.by_call: dict[str, list] = {}  # "METHOD /path" -> [calls, cpu s, SQL, commits]
        self.profile: cProfile.Profile | None = None
        self.sql: dict[str, int] = {"statements": 0, "commits": 0}  # see count_sql()

    def reset(self) -> None:
        self.cpu, self.calls, self.by_call = 0.0, 0, {}

    def __call__(self, environ, start_response):
        prof = self.profile
        sql0, commits0 = self.sql["statements"], self.sql["commits"]
        t0 = time.process_time()
        if prof is not None:
            prof.enable()
        try:
            # Buffer the whole body inside the measured region.
            body = list(self.app(environ, start_response))
        finally:
            if prof is not None:
                prof.disable()
            spent = time.process_time() - t0
            self.cpu += spent
            self.calls += 1
            slot = self.by_call.setdefault(
                f"{environ['REQUEST_METHOD']} {environ.get('PATH_INFO', '')}", [0, 0.0, 0, 0]
            )
            slot[0] += 1
            slot[1] += spent
            slot[2] += self.sql["statements"] - sql0
            slot[3] += self.sql["commits"] - commits0
        return body


def count_sql(app) -> dict[str, int]:
    """Count SQL statements and COMMITs on the app's engine (a live dict)."""
    from sqlalchemy import event

    from idp.store import db

    counts = {"statements": 0, "commits": 0}
    with app.app_context():
        engine = db.engine

    @event.listens_for(engine, "before_cursor_execute")
    def _statement(*_args, **_kw):
        counts["statements"] += 1

    @event.listens_for(engine, "commit")
    def _commit(*_args, **_kw):
        counts["commits"] += 1

    return counts


class _FakeResponse:
    def __init__(self, status: int, headers: list[tuple[str, str]], body: bytes):
        self.status = status
        self._headers = headers
        self._body = body

    def getheaders(self):
        return self._headers

    def read(self):
        return self._body


class WSGIConnection:
    """Enough of http.client.HTTPConnection for load.call(), backed by WSGI."""

    def __init__(self, app, host: str, port: int):
        self.app = app
        self.base_url = f"http://{host}:{port}"
        self.sock = None
        self.calls = 0
        self._pending: _FakeResponse | None = None

    def request(self, method, path, body=None, headers=None):
        self.calls += 1
        if isinstance(body, str):
            body = body.encode()
        builder = EnvironBuilder(
            path=path,
            base_url=self.base_url,
            method=method,
            headers=list((headers or {}).items()),
            data=body,
        )
        try:
            environ = builder.get_environ()
        finally:
            builder.close()
        app_iter, status, hdrs = run_wsgi_app(self.app, environ, buffered=True)
        data = b"".join(app_iter)
        self._pending = _FakeResponse(int(status.split(None, 1)[0]), list(hdrs.items()), data)

    def getresponse(self):
        resp, self._pending = self._pending, None
        if resp is None:
            raise RuntimeError("getresponse() without request()")
        return resp

    def close(self):
        self._pending = None


def _short(path: str) -> str:
    if "/site-packages/" in path:
        return path.rsplit("/site-packages/", 1)[1]
    m = re.search(r"/lib/python3\.\d+/(.*)$", path)
    if m:
        return "stdlib/" + m[1]
    if "/idp/" in path:
        return "idp/" + path.rsplit("/idp/", 1)[1]
    return path


def hot_spots(prof: cProfile.Profile, top: int) -> str:
    stats = pstats.Stats(prof).stats  # {(file, line, func): (cc, nc, tt, ct, callers)}
    own: dict[tuple[str, str], float] = {}
    cum: dict[tuple[str, str], float] = {}
    for (file, _line, func), (_cc, _nc, tt, ct, _callers) in stats.items():
        key = (func, _short(file))
        own[key] = own.get(key, 0.0) + tt
        cum[key] = max(cum.get(key, 0.0), ct)  # recursion-safe enough for a ranking
    total = sum(own.values()) or 1.0
    pkg: dict[str, float] = {}
    for (_func, file), tt in own.items():
        head, _, rest = file.partition("/")
        name = ("stdlib:" + rest.split("/", 1)[0]) if head == "stdlib" else head
        name = name.removesuffix(".py")
        pkg[name] = pkg.get(name, 0.0) + tt
    lines = ["  own time by package:"]
    for name, tt in sorted(pkg.items(), key=lambda kv: -kv[1])[:10]:
        lines.append(f"    {100 * tt / total:5.1f}%  {name}")
    lines.append("  top own time (tottime):")
    for (func, file), tt in sorted(own.items(), key=lambda kv: -kv[1])[:top]:
        lines.append(f"    {100 * tt / total:5.1f}%  {func}  ({file})")
    lines.append("  top cumulative time (below the Flask view dispatch):")
    skip = ("flask/app.py", "werkzeug/", "flask_limiter/_limits.py", "bench/", "~")
    rows = [
        (k, v)
        for k, v in cum.items()
        if not k[1].startswith(skip) and not k[0].startswith("<") and v < 0.98 * total
    ]
    for (func, file), ct in sorted(rows, key=lambda kv: -kv[1])[:top]:
        lines.append(f"    {100 * ct / total:5.1f}%  {func}  ({file})")
    return "\n".join(lines)


def sample_with_py_spy(op, conn, n: int, args) -> str:
    """Run *op* n times while py-spy samples this process; summarize the
    stacks below CPUMeter.__call__ (the app), cut at that frame."""
    import profile_idp

    out = Path(tempfile.mkdtemp(prefix="idp-inproc-spy-"))
    raw = out / "stacks.txt"
    cmd = [profile_idp.py_spy(), "record", "--pid", str(os.getpid()), "--full-filenames"]
    cmd += ["--format", "raw", "--rate", str(args.rate), "--output", str(raw)]
    log = open(out / "py-spy.log", "wb")  # noqa: SIM115
    spy = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    log.close()
    try:
        time.sleep(1.0)  # let py-spy attach before the measured ops start
        for _ in range(n):
            op(conn)
    finally:
        spy.send_signal(signal.SIGINT)
        try:
            spy.wait(timeout=30)
        except subprocess.TimeoutExpired:
            spy.kill()
            spy.wait(timeout=5)
    if not raw.is_file():
        return f"  (py-spy wrote nothing; see {out / 'py-spy.log'})"
    stacks = []
    for frames, count in profile_idp.parse_collapsed(raw.read_text()):
        for i, (func, _file) in enumerate(frames):
            if func == "CPUMeter.__call__":
                if frames[i + 1 :]:
                    stacks.append((frames[i + 1 :], count))
                break
    shutil.rmtree(out, ignore_errors=True)
    return profile_idp.summarize(stacks, args.top)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--scenarios",
        default=",".join(run_idp.DEFAULT_SCENARIOS),
        help=f"comma list of: {', '.join(run_idp.SCENARIOS)}",
    )
    p.add_argument("-n", "--requests", type=int, default=500, help="ops per scenario (500)")
    p.add_argument("--login-requests", type=int, default=None, help="ops for login")
    p.add_argument("--warmup", type=int, default=20, help="unmeasured ops first (20)")
    p.add_argument("--top", type=int, default=20, help="rows per list (20)")
    p.add_argument("--no-profile", action="store_true", help="only measure CPU ms/op")
    p.add_argument(
        "--sampler",
        choices=("cprofile", "py-spy"),
        default="cprofile",
        help="cprofile (deterministic, CPU clock; inflates many small calls) or py-spy "
        "(sampling this process, stacks under the WSGI wrapper only; needs py-spy)",
    )
    p.add_argument("--rate", type=int, default=500, help="py-spy samples/s (500)")
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="SECTION.KEY=VALUE",
        help="experiment: config override, e.g. oidc.default_signing_alg=ES256 (repeatable)",
    )
    p.add_argument("--sqlite-wal", action="store_true", help="experiment: SQLite journal_mode=WAL")
    args = p.parse_args(argv)
    wanted = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    unknown = set(wanted) - set(run_idp.SCENARIOS)
    if unknown:
        p.error(f"unknown scenario(s): {', '.join(sorted(unknown))}")

    idp = run_idp.idp_executable()
    data_dir = Path(tempfile.mkdtemp(prefix="idp-inproc-"))
    port = run_idp.free_port()  # only names the issuer; nothing listens on it
    base_url = f"http://127.0.0.1:{port}"
    config_path = run_idp.write_config(data_dir, port, args.overrides)
    env = {k: v for k, v in os.environ.items() if not k.startswith("IDP__")}
    env["IDP_CONFIG"] = str(config_path)
    password = secrets.token_urlsafe(18)
    try:
        client_secret = run_idp.provision(
            idp, env, password, admin_dir=data_dir if "admin_users" in wanted else None
        )
        if args.sqlite_wal:
            run_idp.enable_wal(data_dir / "idp.sqlite3")
        # Build the app exactly as `idp serve` does, with the same config.
        from idp import create_app
        from idp.config import load_config

        app = create_app(load_config(config_path, environ=env))
        sql = count_sql(app)
        meter = CPUMeter(app)
        meter.sql = sql
        conn = WSGIConnection(meter, "127.0.0.1", port)
        disco = load.call(conn, "GET", "/.well-known/openid-configuration").json()
        flow = run_idp.code_flow_login(disco, client_secret, password)
        load._local.index = 0  # worker_index() for the single in-process "worker"
        seeds: list[dict] = []
        if {"refresh", "userinfo"} & set(wanted):
            seeds.append(flow(conn))
        builders = {
            "discovery": lambda: load.discovery(base_url),
            "jwks": lambda: load.jwks(disco["jwks_uri"]),
            "client_credentials": lambda: load.client_credentials(
                disco["token_endpoint"], run_idp.CLIENT_ID, client_secret
            ),
            "refresh": lambda: load.refresh(
                disco["token_endpoint"],
                run_idp.CLIENT_ID,
                client_secret,
                [seeds[0]["refresh_token"]],
            ),
            "userinfo": lambda: load.userinfo(
                disco["userinfo_endpoint"], [seeds[0]["access_token"]]
            ),
            "admin_users": lambda: run_idp.admin_users(
                "/api/v1",
                run_idp.ADMIN_CUSTOMER,
                [
                    run_idp.code_flow_login(
                        disco, client_secret, password, scope=run_idp.ADMIN_LOGIN_SCOPE
                    )(conn)["access_token"]
                ],
            ),
            "login": lambda: flow,
        }
        summary = []
        reports = []
        breakdowns = []
        for name in wanted:
            op = builders[name]()
            n = args.login_requests if name == "login" and args.login_requests else args.requests
            print(f"running {name} ({n} ops) ...", file=sys.stderr, flush=True)
            for _ in range(args.warmup):
                op(conn)
            meter.reset()
            sql.update(statements=0, commits=0)
            wall0 = time.perf_counter()
            for _ in range(n):
                op(conn)
            wall = time.perf_counter() - wall0
            cpu_ms = 1000.0 * meter.cpu / n
            if meter.calls > n:  # several HTTP calls per op: where does the CPU go?
                parts = "\n".join(
                    f"    {1000.0 * cpu / n:8.3f} ms/op  {calls / n:4.1f}x  "
                    f"SQL {stmts / n:4.1f}  commits {commits / n:3.1f}  {call}"
                    for call, (calls, cpu, stmts, commits) in meter.by_call.items()
                )
                breakdowns.append((name, parts))
            summary.append(
                (
                    name,
                    n,
                    meter.calls / n,
                    sql["statements"] / n,
                    sql["commits"] / n,
                    cpu_ms,
                    1000.0 * wall / n,
                )
            )
            if args.no_profile:
                continue
            if args.sampler == "py-spy":
                reports.append((name, sample_with_py_spy(op, conn, n, args)))
                continue
            meter.profile = cProfile.Profile(time.process_time)
            for _ in range(n):
                op(conn)
            reports.append((name, hot_spots(meter.profile, args.top)))
            meter.profile = None
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)

    experiment = [*args.overrides, *(["sqlite WAL"] if args.sqlite_wal else [])]
    print(
        f"in-process (no gunicorn/TCP), {args.requests} ops/scenario, warmup {args.warmup}"
        + (f"\nEXPERIMENT (not the defaults): {', '.join(experiment)}" if experiment else "")
    )
    print(
        f"{'scenario':18s}  {'ops':>5s}  {'http/op':>7s}  {'SQL/op':>6s}  {'commits/op':>10s}  "
        f"{'app CPU ms/op':>13s}  {'wall ms/op':>10s}  {'target':>6s}  ok?"
    )
    for name, n, hpo, sql_op, commits_op, cpu_ms, wall_ms in summary:
        target = run_idp.TARGETS_MS.get(name)
        ok = "-" if target is None else ("yes" if cpu_ms <= target else "NO")
        cell = "-" if target is None else f"<= {target:g}"
        print(
            f"{name:18s}  {n:5d}  {hpo:7.1f}  {sql_op:6.1f}  {commits_op:10.1f}  "
            f"{cpu_ms:13.3f}  {wall_ms:10.3f}  {cell:>6s}  {ok}"
        )
    for name, text in breakdowns:
        print(f"\n{name}: app CPU per HTTP call of the op\n{text}")
    for name, text in reports:
        print(f"\n== {name} ==\n{text}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except subprocess.TimeoutExpired as exc:  # from the CLI provisioning
        raise SystemExit(f"timed out: {exc}") from exc
