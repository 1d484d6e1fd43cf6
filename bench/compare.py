#!/usr/bin/env python3
"""Run our provider and the node-oidc-provider peer with the same settings and
compare them.

Runs bench/run_idp.py first, then bench/node-peer/run_bench.py (one after the
other, never at the same time: they share the 2 cores with the load driver),
prints both tables and a ratio table:

* ``CPU ratio``  = our server CPU ms/op / the peer's   (< 1: we use less CPU)
* ``ops/s ratio`` = our ops/s / the peer's             (> 1: we are faster)

    /tmp/venv/bin/python bench/compare.py -n 2000 --login-requests 300 -c 4 -d 60 \\
        [--json compare.json]

The login ops differ in shape: ours is 5 HTTP calls (first-party client, no
consent page), the peer's is 8 (devInteractions login *and* consent); see the
``http/op`` columns.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import load  # noqa: E402
import run_idp  # noqa: E402


def _load_peer_module():
    spec = importlib.util.spec_from_file_location(
        "node_peer_run_bench", HERE / "node-peer" / "run_bench.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _ratio(a, b) -> float | None:
    if a is None or b is None or b == 0:
        return None
    return a / b


def ratio_rows(ours: list[dict], peer: list[dict]) -> list[dict]:
    by_name = {r["name"]: r for r in peer}
    rows = []
    for r in ours:
        p = by_name.get(r["name"])
        if p is None:
            continue
        target, ok = run_idp.target_check(r)
        rows.append(
            {
                "name": r["name"],
                "ours_http_per_op": r["http_calls"] / r["ops"] if r["ops"] else None,
                "peer_http_per_op": p["http_calls"] / p["ops"] if p["ops"] else None,
                "ours_cpu_ms_per_op": r["server_cpu_ms_per_op"],
                "peer_cpu_ms_per_op": p["server_cpu_ms_per_op"],
                "cpu_ratio": _ratio(r["server_cpu_ms_per_op"], p["server_cpu_ms_per_op"]),
                "ours_ops_per_s": r["ops_per_s"],
                "peer_ops_per_s": p["ops_per_s"],
                "ops_ratio": _ratio(r["ops_per_s"], p["ops_per_s"]),
                "ours_errors": r["errors"],
                "peer_errors": p["errors"],
                "target": target,
                "ok": ok,
            }
        )
    return rows


def _f(v, digits: int) -> str:
    return "-" if v is None else f"{v:.{digits}f}"


def format_ratios(rows: list[dict]) -> str:
    cols = [
        ("scenario", lambda r: r["name"], "<"),
        ("http/op ours", lambda r: _f(r["ours_http_per_op"], 1), ">"),
        ("http/op peer", lambda r: _f(r["peer_http_per_op"], 1), ">"),
        ("CPU ms/op ours", lambda r: _f(r["ours_cpu_ms_per_op"], 3), ">"),
        ("CPU ms/op peer", lambda r: _f(r["peer_cpu_ms_per_op"], 3), ">"),
        ("CPU ratio", lambda r: _f(r["cpu_ratio"], 2), ">"),
        ("ops/s ours", lambda r: _f(r["ours_ops_per_s"], 1), ">"),
        ("ops/s peer", lambda r: _f(r["peer_ops_per_s"], 1), ">"),
        ("ops/s ratio", lambda r: _f(r["ops_ratio"], 2), ">"),
        ("target", lambda r: r["target"], ">"),
        ("ok?", lambda r: r["ok"], "<"),
    ]
    table = [[get(r) for _, get, _ in cols] for r in rows]
    widths = [max([len(h)] + [len(row[i]) for row in table]) for i, (h, _, _) in enumerate(cols)]

    def line(cells):
        return "  ".join(
            c.ljust(w) if a == "<" else c.rjust(w)
            for c, w, (_, _, a) in zip(cells, widths, cols, strict=True)
        ).rstrip()

    out = [line([h for h, _, _ in cols]), line(["-" * w for w in widths])]
    out.extend(line(row) for row in table)
    errs = [r for r in rows if r["ours_errors"] or r["peer_errors"]]
    for r in errs:
        out.append(f"  ! {r['name']}: errors ours {r['ours_errors']}, peer {r['peer_errors']}")
    return "\n".join(out)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--scenarios",
        default=",".join(run_idp.SCENARIOS),
        help=f"comma list of: {', '.join(run_idp.SCENARIOS)}",
    )
    p.add_argument("--workers", type=int, default=2, help="our gunicorn workers (default 2)")
    p.add_argument("--npm-timeout", type=float, default=600.0, help="limit for npm ci in seconds")
    run_idp.add_experiment_arguments(p)
    load.add_run_arguments(p)
    args = p.parse_args(argv)
    wanted = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    unknown = set(wanted) - set(run_idp.SCENARIOS)
    if unknown:
        p.error(f"unknown scenario(s): {', '.join(sorted(unknown))}")
    peer = _load_peer_module()

    common = dict(
        concurrency=args.concurrency,
        requests=args.requests,
        login_requests=args.login_requests,
        duration=args.duration,
        warmup=args.warmup,
        timeout=args.timeout,
        json=None,
        port=0,
    )
    ours_args = argparse.Namespace(
        **common,
        scenarios=",".join(wanted),
        workers=args.workers,
        keep_dir=False,
        overrides=args.overrides,
        sqlite_wal=args.sqlite_wal,
        gunicorn_options=args.gunicorn_options,
    )
    # The peer keeps its own order (login before userinfo/refresh: its
    # in-memory store is a 1000-entry LRU, see node-peer/run_bench.py).
    peer_args = argparse.Namespace(
        **common,
        scenarios=",".join(s for s in peer.SCENARIOS if s in wanted),
        npm_timeout=args.npm_timeout,
    )

    print("== ours (idp serve) ==", file=sys.stderr, flush=True)
    ours, ours_meta = run_idp.run(ours_args)
    print("== peer (node-oidc-provider) ==", file=sys.stderr, flush=True)
    theirs, peer_meta = peer.run(peer_args)

    settings = (
        f"concurrency {args.concurrency}, {args.requests} ops/scenario "
        f"(login {load.requests_for(args, 'login')}), limit {args.duration:g}s, "
        f"warmup {args.warmup}"
    )
    print(
        f"ours: idp serve (gunicorn, {args.workers} workers), {settings}"
        f"{run_idp.experiment_note(ours_meta)}"
    )
    print(run_idp.format_targets(ours))
    print()
    print(f"peer: node-oidc-provider {peer_meta['version']}, {settings}")
    load.print_table(theirs)
    print()
    rows = ratio_rows(ours, theirs)
    print("ratios (ours / peer): CPU ratio < 1 and ops/s ratio > 1 favour us")
    print(format_ratios(rows), flush=True)
    if args.json:
        load.write_json(
            args.json,
            [],
            ours={"meta": ours_meta, "results": ours},
            peer={"meta": peer_meta, "results": theirs},
            ratios=rows,
        )
    return 1 if any(r["errors"] for r in ours + theirs) else 0


if __name__ == "__main__":
    sys.exit(main())
