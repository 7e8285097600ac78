#!/usr/bin/env python3
"""`import` of N users into a SQLite file: alone, and into a file a server
is serving while a client POSTs (a live import: short transactions).

    cargo build --release --bin user-service
    python3 benches/live_import.py --users 1000000 --runs 2

Each run, alternating the order: `idle` imports into a new file with no
server (one transaction); `served` starts a server on a new file (CPU 0, one
worker), has wrk POST new users over 8 connections (CPU 1) and, a second
in, runs the same import (CPU 0, beside the server); `posts` is wrk alone on
a new served file for the same time, for the POST latency without an
import. The input has only email and name, as from another system.
Reports per mode the import's rows/s and, for the POSTs, req/s, p99 and
errors (non-2xx), medians over the runs.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ab  # noqa: E402  (serve, stop)
import load  # noqa: E402  (wrk, pinning)

CONNECTIONS = 8


def write_users(path, count):
    with open(path, "w") as f:
        for i in range(count):
            f.write(f'{{"email":"person{i}@example.com","name":"Person {i}"}}\n')


def import_into(binary, db, source):
    started = time.monotonic()
    out = subprocess.run(["taskset", "-c", load.SERVER_CPU, binary, "import", "--to",
                          f"sqlite://{db}", "--input", source],
                         capture_output=True, text=True, check=True)
    return time.monotonic() - started, out.stderr.strip()


def posting(url, ids, duration, tag):
    return load.wrk(url, "/", "users.lua", [ids, tag, "100"], duration, CONNECTIONS)


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default="target/release/user-service")
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    load.need("wrk", "apt-get install wrk")
    tmp = tempfile.mkdtemp(prefix="live-import-")
    source = os.path.join(tmp, "people.ndjson")
    write_users(source, args.users)
    ids = os.path.join(tmp, "ids.txt")
    open(ids, "w").close()
    results = {"idle": [], "served": [], "posts": []}
    for run in range(args.runs):
        db = os.path.join(tmp, f"idle{run}.db")
        seconds, summary = import_into(args.binary, db, source)
        results["idle"].append({"import_s": seconds})
        print(f"  run {run + 1} idle   import {seconds:.1f} s: {summary}", file=sys.stderr)

        db = os.path.join(tmp, f"served{run}.db")
        proc, url = ab.serve(args.binary, db, 18300)
        # wrk runs longer than the import; the extra seconds only add
        # ordinary POSTs to its figures.
        duration = int(max(results["idle"][-1]["import_s"] * 8, 10)) + 2
        box = {}
        client = threading.Thread(target=lambda: box.update(posting(url, ids, duration, f"s{run}")))
        client.start()
        time.sleep(1)
        seconds, summary = import_into(args.binary, db, source)
        client.join()
        ab.stop(proc)
        results["served"].append({"import_s": seconds, **box})
        print(f"  run {run + 1} served import {seconds:.1f} s: {summary}; POSTs {box['rps']:.0f} "
              f"req/s p99 {box['p99']:.1f} ms errors {box['errors']}", file=sys.stderr)

        db = os.path.join(tmp, f"posts{run}.db")
        proc, url = ab.serve(args.binary, db, 18301)
        r = posting(url, ids, duration, f"p{run}")
        ab.stop(proc)
        results["posts"].append(r)
        print(f"  run {run + 1} posts  {r['rps']:.0f} req/s p99 {r['p99']:.1f} ms "
              f"errors {r['errors']}", file=sys.stderr)

    med = lambda mode, key: statistics.median(r[key] for r in results[mode])  # noqa: E731
    print(f"\n{args.users:,} users (email and name only), {args.runs} runs, medians; "
          f"POSTs: wrk -t1 -c{CONNECTIONS} on CPU 1, server and import on CPU 0.")
    print("| mode | import s | import rows/s | POST req/s | POST p99 ms | POST errors |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for mode in ("idle", "served"):
        s = med(mode, "import_s")
        posts = (f"{med(mode, 'rps'):,.0f} | {med(mode, 'p99'):.1f} | "
                 f"{sum(r['errors'] for r in results[mode])}") if mode == "served" else "– | – | –"
        print(f"| {mode} | {s:.1f} | {args.users / s:,.0f} | {posts} |")
    print(f"| posts alone | – | – | {med('posts', 'rps'):,.0f} | {med('posts', 'p99'):.1f} | "
          f"{sum(r['errors'] for r in results['posts'])} |")


if __name__ == "__main__":
    main()
