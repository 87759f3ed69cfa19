"""Python CPU per booking, in-process: the redeemer against the bare endpoint (and another
revision), without a server, a load generator or the machine's drift in the figure.

Usage: .venv/bin/python bench/cpu.py [--against REV] [--rounds 10] [--bookings 400]

Each side is a process of its own that calls its WSGI app directly (an environ per request,
no HTTP) on one PostgreSQL database with bench/redeem.py's data and settings (rate limits in
Redis). The sides take turns, in a new order each round, booking `--bookings` times each;
each measures its own CPU time (`time.process_time`). Prints per side the median CPU per
booking and per round each side against bare (and against REV): a change of a few per cent
shows here where bench/redeem.py's throughput cannot see it (#15). What it leaves out
(gunicorn, the sockets, PostgreSQL's and Redis's own CPU) bench/redeem.py measures.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

WORKER = r"""
import io, json, os, random, sys, time, uuid
root, app_spec, credentials_file, token = sys.argv[1:5]
sys.path.insert(0, root)
module, factory = app_spec.split(":")
app = getattr(__import__(module, fromlist=[factory]), factory)()
credentials = open(credentials_file).read().splitlines()
environ = {
    "REQUEST_METHOD": "POST", "PATH_INFO": "/api/v1/bookings", "SCRIPT_NAME": "",
    "QUERY_STRING": "", "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "80",
    "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "127.0.0.1", "wsgi.url_scheme": "http",
    "wsgi.version": (1, 0), "wsgi.errors": sys.stderr, "wsgi.multithread": False,
    "wsgi.multiprocess": True, "wsgi.run_once": False, "CONTENT_TYPE": "application/json",
    "HTTP_AUTHORIZATION": "Bearer " + token,
}
statuses = {}

def start_response(status, headers, exc_info=None):
    statuses[status[:3]] = statuses.get(status[:3], 0) + 1

def book():
    body = json.dumps({"credential": random.choice(credentials), "category": "trips",
                       "amount_cents": 100}).encode()
    env = dict(environ, CONTENT_LENGTH=str(len(body)), HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex)
    env["wsgi.input"] = io.BytesIO(body)
    answer = app(env, start_response)
    for _ in answer:
        pass
    getattr(answer, "close", lambda: None)()

for _ in range(100):  # warm: imports, prepared statements, caches
    book()
print("ready", flush=True)
for line in sys.stdin:
    n = int(line)
    statuses.clear()
    before = time.process_time()
    for _ in range(n):
        book()
    spent = time.process_time() - before
    print(json.dumps({"us": spent / n * 1e6, "statuses": statuses}), flush=True)
"""


def main() -> None:
    sys.path.insert(0, str(ROOT))
    from bench.compare import report, worktree
    from bench.redeem import ADMIN_URL, prepare
    from tests.conftest import create_postgres_database, drop_postgres_database

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", help="a git revision to measure beside this checkout")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--bookings", type=int, default=400, help="per side and round")
    parser.add_argument("--children", type=int, default=2000)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    args = parser.parse_args()
    other = worktree(args.against) if args.against else None
    url = create_postgres_database(ADMIN_URL)
    workers: dict[str, subprocess.Popen[str]] = {}
    try:
        env, load_env, _credentials, _partner = prepare(url, args.children, args.redis)
        sides = [("this", ROOT, "redeemer:create_app")]
        if other is not None:
            sides.append((args.against, other, "redeemer:create_app"))
        sides.append(("bare", ROOT, "bench.bare:create_app"))
        for name, root, app in sides:
            workers[name] = subprocess.Popen(
                [sys.executable, "-c", WORKER, str(root), app,
                 load_env["CREDENTIALS_FILE"], load_env["DEVICE_TOKEN"]],
                env=env, cwd=root, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
            )  # fmt: skip
        for worker in workers.values():
            assert worker.stdout is not None and worker.stdout.readline().strip() == "ready"
        names = list(workers)
        spent: dict[str, list[float]] = {name: [] for name in names}
        for i in range(args.rounds):
            for name in names[i % len(names) :] + names[: i % len(names)]:
                worker = workers[name]
                assert worker.stdin is not None and worker.stdout is not None
                worker.stdin.write(f"{args.bookings}\n")
                worker.stdin.flush()
                answer = json.loads(worker.stdout.readline())
                if set(answer["statuses"]) - {"201"}:
                    raise SystemExit(f"{name}: not every booking was made: {answer['statuses']}")
                spent[name].append(answer["us"])
        print(
            f"Python CPU per booking, in-process, {args.rounds} rounds of {args.bookings}"
            " bookings a side (each side's own process time; no server, no HTTP)"
        )
        pairs = [("this", "bare")]
        if args.against:
            pairs = [("this", args.against), ("this", "bare"), (args.against, "bare")]
        report(spent, pairs, unit=" µs", what=" CPU")
    finally:
        for worker in workers.values():
            worker.kill()
            worker.wait()
        drop_postgres_database(ADMIN_URL, url)
        if other is not None:
            subprocess.run(["git", "worktree", "remove", "--force", str(other)], cwd=ROOT)


if __name__ == "__main__":
    main()
