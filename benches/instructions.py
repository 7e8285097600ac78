#!/usr/bin/env python3
"""Instructions per durable POST (or per GET by id), counted by valgrind's
callgrind: a figure this shared, noisy machine cannot move, for changes
too small for `ab.py`'s req/s and CPU time to show.

    cargo build --release
    python3 benches/instructions.py new=target/release/user-service \
        base=/tmp/base/target/release/user-service --requests 8000
    python3 benches/instructions.py --method get new=... base=...

Each binary serves a fresh database (`--durability full`, one worker) under
callgrind. A warm-up of 2,000 POSTs (one search-index move) runs first;
then the counters are zeroed, `--requests` requests are sent from 8
keep-alive connections (POSTs of new users, or GETs of the warm-up's
users in turn), the writer moves what is listed into the search index
(waited for before the counters are zeroed and again before they are
dumped, so no move falls into the window one run and not the next), and
the counters are dumped. Printed: user-space instructions per request, every
thread of the server together. Two runs of one binary agree within 0.5 %;
POST runs with another `--requests` do not (the search index's moves and
merges come in steps of thousands of users), so compare binaries at one
`--requests`.

What it does not count: the kernel (send, fsync, the WAL's writes), so a
ratio of instructions is larger than the ratio of CPU time `ab.py`
measures; and Python's `http.client` sends a request's headers and body in
two writes, so actix-http's parser runs (and zeroes its 3 KB header table)
more often than under wrk. Compare binaries with each other, not with
`ab.py`'s microseconds. With the `profiling` build (symbols),
`callgrind_annotate --inclusive=yes OUT` says where they go (`--keep DIR`
keeps OUT, the path printed).
"""

import argparse
import contextlib
import glob
import http.client
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import load  # noqa: E402  (the shared harness: need, wait_ready)

PORT = 18400
CONNECTIONS = 8
WARM_UP = 2000


def on_connections(count, request):
    """`count` requests, `request(conn, k, i)` each, from `CONNECTIONS`
    keep-alive connections (k) in turn (i)."""
    def one_connection(k):
        conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=120)
        for i in range(count // CONNECTIONS):
            request(conn, k, i)
    threads = [threading.Thread(target=one_connection, args=(k,)) for k in range(CONNECTIONS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def answer(conn, expected):
    response = conn.getresponse()
    body = response.read()
    if response.status != expected:
        raise RuntimeError(f"answered {response.status}, not {expected}")
    return body


def post_users(prefix, count):
    """Creates `count` users; returns their ids."""
    ids = []

    def post(conn, k, i):
        body = json.dumps({"email": f"{prefix}-{k}-{i}@example.com",
                           "name": f"Person {prefix} {k} {i}"})
        conn.request("POST", "/users", body, {"Content-Type": "application/json"})
        ids.append(json.loads(answer(conn, 201))["id"])
    on_connections(count, post)
    return ids


def get_users(ids, count):
    def get(conn, k, i):
        conn.request("GET", f"/users/{ids[(k * 7919 + i) % len(ids)]}")
        answer(conn, 200)
    on_connections(count, get)


def wait_for_the_writer(database):
    """Until the writer has moved every listed user into the search index
    (under callgrind a move of 2,000 takes seconds): otherwise a move would
    fall into the counted window one run and not the next. A binary from
    before the search index has no list."""
    uri = f"file:{database}?mode=ro"
    for _ in range(600):
        try:
            with contextlib.closing(sqlite3.connect(uri, uri=True, timeout=5)) as conn:
                listed = conn.execute("SELECT count(*) FROM users_search_pending").fetchone()[0]
        except sqlite3.OperationalError as e:
            if "no such table" in str(e):
                break
            raise
        if listed == 0:
            break
        time.sleep(0.2)
    else:
        sys.exit("the writer did not empty users_search_pending within 120 s")
    # The checkpoint that follows a move.
    time.sleep(1)


def count(binary, method, requests, workdir):
    """Instructions per request for `binary`, and the callgrind file."""
    out = os.path.join(workdir, "callgrind.out")
    database = os.path.join(workdir, "users.db")
    server = subprocess.Popen(
        ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", binary, "serve",
         "--database-url", database, "--bind", f"127.0.0.1:{PORT}",
         "--workers", "1", "--durability", "full"],
        env=dict(os.environ, RUST_LOG="warn"),
        stdout=subprocess.DEVNULL, stderr=open(os.path.join(workdir, "server.log"), "w"))
    try:
        # Under callgrind the server starts ~50 times slower.
        load.wait_ready(f"http://127.0.0.1:{PORT}", timeout=120)
        run = uuid.uuid4().hex[:8]
        ids = post_users(f"warm-{run}", WARM_UP)
        wait_for_the_writer(database)
        subprocess.run(["callgrind_control", "-z", str(server.pid)],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if method == "post":
            post_users(f"m-{run}", requests)
        else:
            get_users(ids, requests)
        wait_for_the_writer(database)
        subprocess.run(["callgrind_control", "-d", str(server.pid)],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    finally:
        server.terminate()
        server.wait()
    dumps = sorted(glob.glob(out + ".*"), key=os.path.getmtime)
    if not dumps:
        sys.exit(f"callgrind wrote no dump for {binary}")
    with open(dumps[-1]) as f:
        total = next(int(line.split()[1]) for line in f if line.startswith(("summary:", "totals:")))
    # Whole requests only: each connection sends requests // CONNECTIONS.
    sent = requests // CONNECTIONS * CONNECTIONS
    return total / sent, dumps[-1]


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("binaries", nargs="+", metavar="NAME=PATH")
    parser.add_argument("--method", choices=("post", "get"), default="post")
    parser.add_argument("--requests", type=int, default=8000)
    parser.add_argument("--keep", metavar="DIR",
                        help="keep the databases and callgrind files under DIR")
    args = parser.parse_args()
    for tool in ("valgrind", "callgrind_control"):
        load.need(tool, "apt-get install valgrind")
    what = "POST" if args.method == "post" else "GET"
    root = args.keep or tempfile.mkdtemp(prefix="instructions-")
    results = []
    for spec in args.binaries:
        name, _, path = spec.partition("=")
        if not path:
            sys.exit(f"{spec}: expected NAME=PATH")
        workdir = os.path.join(root, name)
        shutil.rmtree(workdir, ignore_errors=True)
        os.makedirs(workdir)
        per_request, dump = count(path, args.method, args.requests, workdir)
        results.append((name, per_request))
        print(f"{name}: {per_request:,.0f} instructions per {what} ({dump})", flush=True)
    first = results[0][1]
    print(f"\n| binary | instructions per {what} | / {results[0][0]} |\n| --- | ---: | ---: |")
    for name, per_request in results:
        print(f"| {name} | {per_request:,.0f} | {per_request / first:.3f} |")
    if not args.keep:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
