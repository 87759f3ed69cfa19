"""Two versions of the redeemer side by side under bench/redeem.py's booking load.

Usage: .venv/bin/python bench/compare.py --against REV [--rounds 10] [--seconds 5]

A change worth a few per cent cannot be seen in two runs of bench/redeem.py made one after
the other: the machine drifts more than that from minute to minute. Here this checkout's
code and REV's (a git worktree, with this checkout's .venv) are served at once, beside the
bare endpoint (bench/bare.py), on one database, and take short turns in a new order each
round. Prints per round this/REV and each against bare, and their medians.

REV must have this checkout's migrations and booking function (one database serves both).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.redeem import ADMIN_URL, prepare, serve, wrk  # noqa: E402
from tests.conftest import create_postgres_database, drop_postgres_database  # noqa: E402

SCHEMA = ["migrations/versions", "youcard/sql"]


def _schema(rev: str | None) -> dict[str, str]:
    """What the migrations and the booking function do at REV (None: this checkout): each
    file's text, a migration's as its syntax tree without comments and docstrings (a moved
    module named in a comment changes no schema)."""
    import ast

    def listed() -> list[str]:
        if rev is None:
            files = [p for d in SCHEMA for p in sorted((ROOT / d).rglob("*")) if p.is_file()]
            return [str(p.relative_to(ROOT)) for p in files if "__pycache__" not in p.parts]
        command = ["git", "ls-tree", "-r", "--name-only", rev, "--", *SCHEMA]
        out = subprocess.run(command, cwd=ROOT, check=True, capture_output=True, text=True)
        return out.stdout.split()

    def text(name: str) -> str:
        if rev is None:
            return (ROOT / name).read_text(encoding="utf-8")
        command = ["git", "show", f"{rev}:{name}"]
        out = subprocess.run(command, cwd=ROOT, check=True, capture_output=True, text=True)
        return out.stdout

    found = {}
    for name in listed():
        source = text(name)
        if name.endswith(".py"):
            tree = ast.parse(source)
            for node in ast.walk(tree):
                body = getattr(node, "body", None)
                if (
                    isinstance(body, list)
                    and body
                    and isinstance(body[0], ast.Expr)
                    and isinstance(body[0].value, ast.Constant)
                    and isinstance(body[0].value.value, str)
                ):
                    body.pop(0)
            source = ast.dump(tree)
        found[name] = source
    return found


def worktree(rev: str) -> Path:
    """REV checked out beside this checkout (removed by the caller)."""
    if _schema(rev) != _schema(None):
        sys.exit(f"{rev} has other migrations or another booking function: not comparable here")
    path = Path(tempfile.mkdtemp(prefix="youcard-compare-")) / "code"
    command = ["git", "worktree", "add", "--detach", "-q", str(path), rev]
    subprocess.run(command, cwd=ROOT, check=True)
    return path


def report(
    values: dict[str, list[float]], pairs: list[tuple[str, str]], unit: str = "", what: str = ""
) -> None:
    """Per side the median of its rounds and the rounds; per pair the median of the rounds'
    ratios (each round's sides ran one after the other) and the ratios."""
    for name, each in values.items():
        line = " ".join(f"{value:,.0f}" for value in each)
        print(f"{name:>12}  median {statistics.median(each):7,.0f}{unit}   rounds {line}")
    for top, bottom in pairs:
        ratios = [a / b for a, b in zip(values[top], values[bottom], strict=True)]
        line = " ".join(f"{r:.2f}" for r in ratios)
        print(f"{top}/{bottom}{what}  median {statistics.median(ratios):.3f}   rounds {line}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", required=True, help="a git revision")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=5, help="per run")
    parser.add_argument("--children", type=int, default=2000)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    args = parser.parse_args()
    other = worktree(args.against)
    url = create_postgres_database(ADMIN_URL)
    servers: list[Any] = []
    try:
        env, load_env, _credentials, _partner = prepare(url, args.children, args.redis)
        sides: dict[str, tuple[str, str]] = {}  # name: (base URL, what its processes show)
        for name, app, root in (
            ("this", "redeemer:create_app()", ROOT),
            (args.against, "redeemer:create_app()", other),
            ("bare", "bench.bare:create_app()", ROOT),
        ):
            server, base = serve(app, env, 4, 1, root=root)
            servers.append(server)
            sides[name] = (base, base.removeprefix("http://"))  # its --bind: its own processes
        for base, processes in sides.values():
            wrk("book.lua", base, 2, load_env, processes)  # every worker's connections
        names = list(sides)
        rates: dict[str, list[float]] = {name: [] for name in names}
        for i in range(args.rounds):
            for name in names[i % 3 :] + names[: i % 3]:  # a new order each round
                base, processes = sides[name]
                rates[name].append(wrk("book.lua", base, args.seconds, load_env, processes)["rate"])
        print(
            f"bookings/s, {args.rounds} rounds of {args.seconds:.0f} s, gunicorn 4 x 1,"
            " 16 connections (wrk)"
        )
        report(rates, [("this", args.against), ("this", "bare"), (args.against, "bare")])
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=30)
        drop_postgres_database(ADMIN_URL, url)
        subprocess.run(["git", "worktree", "remove", "--force", str(other)], cwd=ROOT)


if __name__ == "__main__":
    main()
