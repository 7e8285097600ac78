#!/usr/bin/env python3
"""GET /users/{id} at 1M users for several `--read-cache` sizes, with the
server's peak RSS: the curve an operator chooses a point on (issue 23).

    python3 benches/cache_curve.py --db users-1m.db --sizes 0,100000,1000000 --runs 3

`--db` is a SQLite file of user-service with the users in it (any schema
version: the first start upgrades a copy). Every run starts the server on
a fresh copy (so the OS page cache holds what the file's last use left,
the same for every size), reads random ids for `--warmup` s, then measures
`--duration` s (wrk -t1 -c32 on CPU 1, the server with one worker on CPU
0); sizes alternate order between runs; medians.
"""

import argparse
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import load  # noqa: E402
from ab import cpu_seconds, stop  # noqa: E402

BIN = os.path.join(load.ROOT, "target", "release", "user-service")


def serve(db, port, cache):
    cmd = [BIN, "serve", "--database-url", f"sqlite://{db}", "--bind", f"127.0.0.1:{port}",
           "--workers", "1", "--read-cache", str(cache)]
    log = open(db + ".log", "ab")
    proc = subprocess.Popen(["taskset", "-c", load.SERVER_CPU] + cmd, stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    load.wait_ready(url, timeout=600)
    return proc, url


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", required=True)
    parser.add_argument("--sizes", default="0,100000,1000000")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=5)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    tmp = tempfile.mkdtemp(prefix="cache-curve-")
    base = os.path.join(tmp, "base.db")
    shutil.copy(args.db, base)
    # Upgrade once (and checkpoint: a clean stop folds the WAL in).
    proc, _ = serve(base, 18400, 0)
    stop(proc)
    ids = os.path.join(tmp, "ids.txt")
    with sqlite3.connect(base) as conn, open(ids, "w") as out:
        for (raw,) in conn.execute("SELECT id FROM users"):
            out.write(f"{uuid.UUID(bytes=raw)}\n")
    results = {size: [] for size in sizes}
    for run in range(args.runs):
        for size in (sizes if run % 2 == 0 else sizes[::-1]):
            db = os.path.join(tmp, "run.db")
            for suffix in ("", "-wal", "-shm", ".lock"):
                if os.path.exists(db + suffix):
                    os.remove(db + suffix)
            shutil.copy(base, db)
            proc, url = serve(db, 18401, size)
            load.wrk(url, "/", "users.lua", [ids, f"w{run}", "0"], args.warmup, 32)
            before = cpu_seconds(proc.pid)
            r = load.wrk(url, "/", "users.lua", [ids, f"m{run}", "0"], args.duration, 32)
            cpu = cpu_seconds(proc.pid) - before
            r["cpu_us"] = cpu / (r["rps"] * args.duration) * 1e6
            r["rss"] = load.peak_rss_mib(proc)
            stop(proc)
            results[size].append(r)
            print(f"  run {run + 1} cache {size:>8}: {r['rps']:>8.0f} req/s  "
                  f"{r['cpu_us']:.2f} us CPU/req  p99 {r['p99']:.2f} ms  "
                  f"peak RSS {r['rss']:.0f} MiB  errors {r['errors']}", file=sys.stderr)
    with open(ids) as f:
        users = sum(1 for _ in f)
    shutil.rmtree(tmp, ignore_errors=True)
    print(f"\nGET /users/{{id}} of random ids among {users:,} users, {args.runs} runs of "
          f"{args.duration} s after {args.warmup} s of warm-up, medians.\n")
    print("| --read-cache | req/s | µs CPU/req | p99 ms | peak RSS MiB |")
    print("| ---: | ---: | ---: | ---: | ---: |")
    for size in sizes:
        rs = results[size]
        med = lambda key: statistics.median(r[key] for r in rs)
        print(f"| {size:,} | {med('rps'):,.0f} | {med('cpu_us'):.2f} | {med('p99'):.2f} "
              f"| {med('rss'):.0f} |")


if __name__ == "__main__":
    main()
