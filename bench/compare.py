#!/usr/bin/env python3
"""Run our provider and the node-oidc-provider peer with the same settings and
compare them.

Runs bench/run_idp.py first, then bench/node-peer/run_bench.py (one after the
other, never at the same time: they share the 2 cores with the load driver),
prints both tables and a ratio table:

* ``CPU ratio``  = our server CPU ms/op / the peer's   (< 1: we use less CPU)
* ``ops/s ratio`` = our ops/s / the peer's             (> 1: we are faster)

With ``--rounds N`` the pair is run N times, alternating, and the ratio table
uses the medians (plus the min-max of the per-round CPU ratios): on a shared
2-core box single runs drift by 20-30 %.

    /tmp/venv/bin/python bench/compare.py -n 2000 --login-requests 300 -c 4 -d 60 \\
        [--json compare.json]

The login ops differ in shape: ours is 5 HTTP calls (first-party client, no
consent page), the peer's is 8 (devInteractions login *and* consent); see the
``http/op`` columns.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
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


def _median(values) -> float | None:
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def _per_op(r: dict) -> float | None:
    return r["http_calls"] / r["ops"] if r["ops"] else None


def ratio_rows(ours_rounds: list[list[dict]], peer_rounds: list[list[dict]]) -> list[dict]:
    """One row per scenario run by both: medians over the rounds, their ratios,
    and the spread (min, max) of the per-round CPU ratios."""
    rows = []
    for r0 in ours_rounds[0]:
        name = r0["name"]
        ours = [r for rnd in ours_rounds for r in rnd if r["name"] == name]
        peer = [r for rnd in peer_rounds for r in rnd if r["name"] == name]
        if not peer:
            continue
        ours_cpu = _median(r["server_cpu_ms_per_op"] for r in ours)
        peer_cpu = _median(r["server_cpu_ms_per_op"] for r in peer)
        ours_ops = _median(r["ops_per_s"] for r in ours)
        peer_ops = _median(r["ops_per_s"] for r in peer)
        per_round = [
            _ratio(a["server_cpu_ms_per_op"], b["server_cpu_ms_per_op"])
            for a, b in zip(ours, peer, strict=False)
        ]
        per_round = [x for x in per_round if x is not None]
        ours_errors = sum(r["errors"] for r in ours)
        target, ok = run_idp.target_check(
            {"name": name, "server_cpu_ms_per_op": ours_cpu, "errors": ours_errors}
        )
        rows.append(
            {
                "name": name,
                "rounds": min(len(ours), len(peer)),
                "ours_http_per_op": _median(_per_op(r) for r in ours),
                "peer_http_per_op": _median(_per_op(r) for r in peer),
                "ours_cpu_ms_per_op": ours_cpu,
                "peer_cpu_ms_per_op": peer_cpu,
                "cpu_ratio": _ratio(ours_cpu, peer_cpu),
                "cpu_ratio_min": min(per_round) if per_round else None,
                "cpu_ratio_max": max(per_round) if per_round else None,
                "ours_ops_per_s": ours_ops,
                "peer_ops_per_s": peer_ops,
                "ops_ratio": _ratio(ours_ops, peer_ops),
                "ours_errors": ours_errors,
                "peer_errors": sum(r["errors"] for r in peer),
                "target": target,
                "ok": ok,
            }
        )
    return rows


def _f(v, digits: int) -> str:
    return "-" if v is None else f"{v:.{digits}f}"


def _spread(r: dict) -> str:
    if r["rounds"] < 2 or r["cpu_ratio_min"] is None:
        return "-"
    return f"{r['cpu_ratio_min']:.2f}-{r['cpu_ratio_max']:.2f}"


def format_ratios(rows: list[dict]) -> str:
    cols = [
        ("scenario", lambda r: r["name"], "<"),
        ("http/op ours", lambda r: _f(r["ours_http_per_op"], 1), ">"),
        ("http/op peer", lambda r: _f(r["peer_http_per_op"], 1), ">"),
        ("CPU ms/op ours", lambda r: _f(r["ours_cpu_ms_per_op"], 3), ">"),
        ("CPU ms/op peer", lambda r: _f(r["peer_cpu_ms_per_op"], 3), ">"),
        ("CPU ratio", lambda r: _f(r["cpu_ratio"], 2), ">"),
        ("(rounds)", _spread, ">"),
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
        default=",".join(run_idp.DEFAULT_SCENARIOS),
        help=f"comma list of: {', '.join(run_idp.SCENARIOS)}",
    )
    p.add_argument("--workers", type=int, default=2, help="our gunicorn workers (default 2)")
    p.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="alternate ours/peer this many times; the ratio table uses medians (default 1)",
    )
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

    settings = (
        f"concurrency {args.concurrency}, {args.requests} ops/scenario "
        f"(login {load.requests_for(args, 'login')}), limit {args.duration:g}s, "
        f"warmup {args.warmup}"
    )
    ours_rounds: list[list[dict]] = []
    peer_rounds: list[list[dict]] = []
    for i in range(1, args.rounds + 1):
        tag = f" round {i}/{args.rounds}" if args.rounds > 1 else ""
        print(f"== ours (idp serve){tag} ==", file=sys.stderr, flush=True)
        ours, ours_meta = run_idp.run(ours_args)
        print(f"== peer (node-oidc-provider){tag} ==", file=sys.stderr, flush=True)
        theirs, peer_meta = peer.run(peer_args)
        ours_rounds.append(ours)
        peer_rounds.append(theirs)
        print(
            f"ours{tag}: idp serve (gunicorn, {args.workers} workers), {settings}"
            f"{run_idp.experiment_note(ours_meta)}\ncode: {ours_meta['code']}"
        )
        print(run_idp.format_targets(ours))
        print()
        print(f"peer{tag}: node-oidc-provider {peer_meta['version']}, {settings}")
        if load.busy_note(peer_meta["load_before"]):
            print(load.busy_note(peer_meta["load_before"]))
        load.print_table(theirs)
        print(flush=True)
    rows = ratio_rows(ours_rounds, peer_rounds)
    what = f"medians of {args.rounds} rounds, " if args.rounds > 1 else ""
    print(f"ratios (ours / peer; {what}CPU ratio < 1 and ops/s ratio > 1 favour us)")
    print(format_ratios(rows), flush=True)
    if args.json:
        load.write_json(
            args.json,
            [],
            ours={"meta": ours_meta, "rounds": ours_rounds},
            peer={"meta": peer_meta, "rounds": peer_rounds},
            ratios=rows,
        )
    return 1 if any(r["errors"] for rnd in ours_rounds + peer_rounds for r in rnd) else 0


if __name__ == "__main__":
    sys.exit(main())
