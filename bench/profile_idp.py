#!/usr/bin/env python3
"""Profile our provider per scenario with py-spy (sampling, all gunicorn workers).

Same throw-away instance as bench/run_idp.py (temp data dir, CLI-provisioned
client and user, ``idp serve`` on a free loopback port, always stopped at
the end). For each scenario, ``py-spy record --subprocesses --format raw``
is attached to the gunicorn master while the load runs; the collapsed stacks
are then aggregated into the top functions by *self* time (the leaf frame
was in it) and by *inclusive* time (it was anywhere on the stack), as shares
of all samples of that scenario.

    /tmp/venv/bin/pip install py-spy      # once
    /tmp/venv/bin/python bench/profile_idp.py -n 1000 --login-requests 150 \\
        --scenarios client_credentials,refresh [--idle] [--top 25] [--out-dir DIR]

Without ``--idle`` only samples of threads on CPU count (py-spy's default);
with it, waiting (sockets, SQLite busy-sleeps, fsync) shows up too -- use it
when ``srv CPU %`` is well below what the workers could use. ``--out-dir``
keeps the raw collapsed stacks (for flamegraph.pl or speedscope).
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import run_idp  # noqa: E402

_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")


def py_spy() -> str:
    candidate = Path(sys.executable).with_name("py-spy")
    found = str(candidate) if candidate.is_file() else shutil.which("py-spy")
    if not found:
        raise SystemExit("py-spy not found: /tmp/venv/bin/pip install py-spy")
    return found


def short_file(path: str) -> str:
    """Readable file name: package-relative for site-packages, the stdlib and idp."""
    if "/site-packages/" in path:
        return path.rsplit("/site-packages/", 1)[1]
    m = re.search(r"/lib/python3\.\d+/(.*)$", path)
    if m:
        return "stdlib/" + m[1]
    if "/idp/" in path:
        return "idp/" + path.rsplit("/idp/", 1)[1]
    return path


def parse_collapsed(text: str) -> list[tuple[list[tuple[str, str]], int]]:
    """[(frames root->leaf as (func, short file), count)] from py-spy raw output."""
    stacks = []
    for line in text.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = []
        for raw in stack.split(";"):
            m = _FRAME.match(raw)
            if m is None:  # "process 123:..." / "thread (0x..)" pseudo-frames
                continue
            frames.append((m["func"], short_file(m["file"])))
        if frames:
            stacks.append((frames, int(count)))
    return stacks


def package_of(file: str) -> str:
    head, _, rest = file.partition("/")
    if head == "stdlib":
        return "stdlib:" + rest.split("/", 1)[0].removesuffix(".py")
    return head.removesuffix(".py")


# Frames every request passes through (server loop, WSGI/Flask dispatch, CLI
# entry): left out of the inclusive list, which would otherwise start with them.
PLUMBING = (
    "gunicorn/",
    "click/",
    "idp/cli.py",
    "flask/app.py",
    "werkzeug/middleware/",
    "stdlib/threading.py",
)


def summarize(stacks, top: int) -> str:
    total = sum(c for _, c in stacks)
    if not total:
        return "  (no samples)"
    self_t: collections.Counter = collections.Counter()
    incl_t: collections.Counter = collections.Counter()
    pkg_t: collections.Counter = collections.Counter()
    for frames, count in stacks:
        self_t[frames[-1]] += count
        pkg_t[package_of(frames[-1][1])] += count
        for frame in set(frames):
            incl_t[frame] += count

    def block(title, counter, n):
        rows = [f"  {title}"]
        for (func, file), c in counter.most_common(n):
            rows.append(f"    {100.0 * c / total:5.1f}%  {func}  ({file})")
        return rows

    out = [f"  {total} samples"]
    out += ["  self time by package:"]
    out += [f"    {100.0 * c / total:5.1f}%  {p}" for p, c in pkg_t.most_common(12)]
    out += block("top self time (function, file):", self_t, top)
    incl = collections.Counter(
        {k: v for k, v in incl_t.items() if not k[1].startswith(PLUMBING) and k[0] != "<module>"}
    )
    out += block("top inclusive time (function, file; plumbing omitted):", incl, top)
    return "\n".join(out)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    run_idp.add_arguments(p)
    p.add_argument("--rate", type=int, default=200, help="py-spy samples/s (default 200)")
    p.add_argument("--idle", action="store_true", help="also sample idle (waiting) threads")
    p.add_argument("--top", type=int, default=20, help="rows per hot-spot list (default 20)")
    p.add_argument("--out-dir", help="keep the raw collapsed stacks here")
    p.set_defaults(requests=1000)
    args = p.parse_args(argv)
    spy = py_spy()
    wanted = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    out_dir = Path(args.out_dir) if args.out_dir else Path(tempfile.mkdtemp(prefix="idp-prof-"))
    out_dir.mkdir(parents=True, exist_ok=True)

    profiles: dict[str, Path] = {}

    def around(name, server_pid, run_one):
        """Run one scenario with py-spy attached to the server tree."""
        raw = out_dir / f"{name}.txt"
        cmd = [spy, "record", "--pid", str(server_pid), "--subprocesses", "--full-filenames"]
        cmd += ["--format", "raw"]
        cmd += ["--rate", str(args.rate), "--output", str(raw)]
        if args.idle:
            cmd.append("--idle")
        log = open(out_dir / f"{name}.py-spy.log", "wb")  # noqa: SIM115
        spy_proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        try:
            return run_one()
        finally:
            with contextlib.suppress(ProcessLookupError):
                spy_proc.send_signal(signal.SIGINT)
            try:
                spy_proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                spy_proc.kill()
                spy_proc.wait(timeout=5)
            profiles[name] = raw

    results, _ = run_idp.run(args, around=around)
    print(run_idp.format_targets(results))
    print("(server CPU under py-spy is inflated by sampling; use run_idp.py for the numbers)")
    for name in wanted:
        raw = profiles.get(name)
        print(f"\n== {name} ==")
        if raw is None or not raw.is_file():
            print("  (no profile written; see the py-spy log in the out dir)")
            continue
        print(summarize(parse_collapsed(raw.read_text()), args.top))
    print(f"\nraw collapsed stacks: {out_dir}", file=sys.stderr)
    if not args.out_dir:
        print("(temporary; pass --out-dir to choose where)", file=sys.stderr)
    return 1 if any(r["errors"] for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
