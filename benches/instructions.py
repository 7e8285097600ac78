#!/usr/bin/env python3
"""Instructions per durable POST, counted by valgrind's callgrind: a figure
this shared, noisy machine cannot move, for changes too small for
`ab.py`'s req/s and CPU time to show.

    cargo build --release
    python3 benches/instructions.py new=target/release/user-service \
        base=/tmp/base/target/release/user-service --posts 8000

Each binary serves a fresh database (`--durability full`, one worker) under
callgrind. A warm-up of 2,000 POSTs (one search-index move) runs first;
then the counters are zeroed, `--posts` POSTs are sent from 8 keep-alive
connections, the writer gets 2 s to move what is listed, and the counters
are dumped. Printed: user-space instructions per POST, every thread of the
server together. Two runs of one binary agree within ~1 %; runs with
another `--posts` do not (the search index's moves and merges come in
steps of thousands of users), so compare binaries at one `--posts`.

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
import glob
import http.client
import json
import os
import shutil
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


def post_users(prefix, count):
    """`count` POSTs from `CONNECTIONS` keep-alive connections."""
    def one_connection(k):
        conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=120)
        for i in range(count // CONNECTIONS):
            body = json.dumps({"email": f"{prefix}-{k}-{i}@example.com",
                               "name": f"Person {prefix} {k} {i}"})
            conn.request("POST", "/users", body, {"Content-Type": "application/json"})
            response = conn.getresponse()
            response.read()
            if response.status != 201:
                raise RuntimeError(f"POST /users answered {response.status}")
    threads = [threading.Thread(target=one_connection, args=(k,)) for k in range(CONNECTIONS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def count(binary, posts, workdir):
    """Instructions per POST for `binary`, and the callgrind file."""
    out = os.path.join(workdir, "callgrind.out")
    server = subprocess.Popen(
        ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", binary, "serve",
         "--database-url", os.path.join(workdir, "users.db"), "--bind", f"127.0.0.1:{PORT}",
         "--workers", "1", "--durability", "full"],
        env=dict(os.environ, RUST_LOG="warn"),
        stdout=subprocess.DEVNULL, stderr=open(os.path.join(workdir, "server.log"), "w"))
    try:
        # Under callgrind the server starts ~50 times slower.
        load.wait_ready(f"http://127.0.0.1:{PORT}", timeout=120)
        run = uuid.uuid4().hex[:8]
        post_users(f"warm-{run}", WARM_UP)
        time.sleep(2)
        subprocess.run(["callgrind_control", "-z", str(server.pid)],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        post_users(f"m-{run}", posts)
        time.sleep(2)
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
    # Whole POSTs only: each connection sends posts // CONNECTIONS.
    sent = posts // CONNECTIONS * CONNECTIONS
    return total / sent, dumps[-1]


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("binaries", nargs="+", metavar="NAME=PATH")
    parser.add_argument("--posts", type=int, default=8000)
    parser.add_argument("--keep", metavar="DIR",
                        help="keep the databases and callgrind files under DIR")
    args = parser.parse_args()
    for tool in ("valgrind", "callgrind_control"):
        load.need(tool, "apt-get install valgrind")
    root = args.keep or tempfile.mkdtemp(prefix="instructions-")
    results = []
    for spec in args.binaries:
        name, _, path = spec.partition("=")
        if not path:
            sys.exit(f"{spec}: expected NAME=PATH")
        workdir = os.path.join(root, name)
        shutil.rmtree(workdir, ignore_errors=True)
        os.makedirs(workdir)
        per_post, dump = count(path, args.posts, workdir)
        results.append((name, per_post))
        print(f"{name}: {per_post:,.0f} instructions per POST ({dump})", flush=True)
    first = results[0][1]
    print(f"\n| binary | instructions per POST | / {results[0][0]} |\n| --- | ---: | ---: |")
    for name, per_post in results:
        print(f"| {name} | {per_post:,.0f} | {per_post / first:.3f} |")
    if not args.keep:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
