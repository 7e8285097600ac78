#!/usr/bin/env python3
"""A/B of two user-service binaries: GET by id and durable POST, in
alternating pairs, each server on its own copy of one seeded database.

    git worktree add /tmp/base 49df531
    CARGO_TARGET_DIR=/tmp/base/target cargo build --release --manifest-path /tmp/base/Cargo.toml
    cargo build --release --example seed && cargo build --release
    python3 benches/ab.py --a new=target/release/user-service \
        --b base=/tmp/base/target/release/user-service --pairs 5 --duration 6

The server is built on its own (the second command): built in the same
command as an example, it gets the dev-dependencies' features and is not
the binary that ships.

Reports per phase the median req/s and the median server CPU time per
request (user + system time of the server process from /proc/PID/stat over
the wrk run, divided by the requests answered). On a shared, noisy machine
the CPU time per request moves far less between runs than req/s does: a
neighbour that steals the core lowers both servers' req/s alike but not the
work each request costs. Pinning as benches/load.py: server on CPU 0 with
one worker, wrk (1 thread, 32 connections) on CPU 1.

With `--drain`, each phase ends only when the writer has moved every user
listed for the search index into it (`users_search_pending` empty), and the
CPU of that move counts: a design that defers indexing then pays for it.
"""

import argparse
import os
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import load  # noqa: E402  (the shared harness: start, seed, wrk, settle)

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
# phase: (path, wrk script, its arguments after the ids file and run tag,
# extra headers). `{tags}` scripts get the `id etag` file instead.
PHASES = {
    "get": ("/", "users.lua", ["0"], ()),
    "post": ("/", "users.lua", ["100"], ()),
    # 90 % GET by id, 10 % durable POST, as benches/load.py's mix.
    "mix": ("/", "users.lua", ["10"], ()),
    # Every POST with an Idempotency-Key of its own (issue 22).
    "post-key": ("/", "users.lua", ["100", "keyed"], ()),
    # GET by id revalidated with the current ETag: 304s (issue 22).
    "get-inm": ("/", "conditional.lua", "tags", ()),
    # A new connection per request: over TLS, a full handshake each.
    "connect": ("/health", None, None, ("Connection: close",)),
    # A page of 100 users for a client that takes only brotli.
    "list-br": ("/users?limit=100", None, None, ("Accept-Encoding: br",)),
}


def write_tags(url, ids_file, tags_file):
    """`id etag` per seeded user, as the server at `url` answers (a binary
    without ETags gets a tag that never matches: plain 200s)."""
    with open(ids_file) as ids, open(tags_file, "w") as out:
        for line in ids:
            user_id = line.strip()
            with urllib.request.urlopen(f"{url}/users/{user_id}") as response:
                tag = response.headers.get("ETag") or '"none"'
                out.write(f"{user_id} {tag}\n")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def drain(db, timeout=120):
    """Waits until the writer has moved every user listed for the search
    index (`users_search_pending`) into it; returns the seconds waited.
    A write phase ends with users still listed, and moving them is part of
    what those writes cost."""
    start = time.monotonic()
    while True:
        listed = scalar(db, "SELECT count(*) FROM users_search_pending")
        waited = time.monotonic() - start
        if listed == 0:
            return waited
        if waited > timeout:
            sys.exit(f"{db}: {listed} users still listed for the search index after {timeout} s")
        time.sleep(0.02)


def has_search_list(db):
    return scalar(db, "SELECT count(*) FROM sqlite_master "
                      "WHERE name = 'users_search_pending'") > 0


def scalar(db, sql):
    """The one value `sql` reads from the database file `db`."""
    conn = sqlite3.connect(db, timeout=10)
    try:
        return conn.execute(sql).fetchone()[0]
    finally:
        conn.close()


def serve(binary, db, port, rust_log="warn", tls=None):
    """Starts a server; with `rust_log` at `info` its request log goes to a
    file next to the database (a file, as a log shipper would read it);
    with `tls` (certificate, key) it serves HTTPS."""
    cmd = [binary, "serve", "--database-url", db, "--bind", f"127.0.0.1:{port}",
           "--workers", "1", "--durability", "full"]
    if tls:
        cmd += ["--tls-cert", tls[0], "--tls-key", tls[1]]
    with open(db + ".log", "wb") as log:
        proc = subprocess.Popen(["taskset", "-c", load.SERVER_CPU] + cmd,
                                env=dict(os.environ, RUST_LOG=rust_log),
                                stdout=subprocess.DEVNULL, stderr=log)
    url = f"{'https' if tls else 'http'}://127.0.0.1:{port}"
    load.wait_ready(url)
    return proc, url


def stop(proc):
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)


def copy_db(seeded, to):
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(to + suffix):
            os.remove(to + suffix)
    shutil.copy(seeded, to)


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--a", required=True, metavar="NAME=PATH")
    parser.add_argument("--b", required=True, metavar="NAME=PATH")
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--duration", type=int, default=6)
    parser.add_argument("--users", type=int, default=10000)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--phases", default="get,post")
    parser.add_argument("--rust-log", default="warn",
                        help="the servers' RUST_LOG; `info` logs every request (to a file)")
    parser.add_argument("--drain", action="store_true",
                        help="after each phase, wait until the search index has caught up "
                             "with the writes and count that CPU too (a build from before "
                             "the search index has nothing to wait for)")
    parser.add_argument("--tls", action="append", default=[], metavar="NAME",
                        help="serve this variant over HTTPS (a self-signed P-256 "
                             "certificate made with openssl); repeatable")
    args = parser.parse_args()
    load.need("wrk", "apt-get install wrk")
    load.need("taskset", "apt-get install util-linux")
    variants = [tuple(v.split("=", 1)) for v in (args.a, args.b)]
    phases = args.phases.split(",")
    tmp = tempfile.mkdtemp(prefix="ab-")
    seeded = os.path.join(tmp, "seeded.db")
    ids = os.path.join(tmp, "ids.txt")
    tls = None
    if args.tls:
        load.need("openssl", "apt-get install openssl")
        tls = (os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem"))
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-keyout", tls[1], "-out", tls[0],
                        "-days", "2", "-subj", "/CN=localhost",
                        "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                       check=True, capture_output=True)
    # Seeded once by the first binary, checkpointed and closed: one file,
    # so both variants read the very same pages.
    proc, url = serve(variants[0][1], seeded, 18100)
    load.seed(url, args.users, ids)
    stop(proc)

    results = {(name, phase): [] for name, _ in variants for phase in phases}
    for pair in range(args.pairs):
        order = variants if pair % 2 == 0 else variants[::-1]
        for name, binary in order:
            db = os.path.join(tmp, f"{name}.db")
            for phase in phases:
                copy_db(seeded, db)
                proc, url = serve(binary, db, 18101, args.rust_log,
                                  tls if name in args.tls else None)
                path, script, script_args, headers = PHASES[phase]
                tags = os.path.join(tmp, f"{name}-tags.txt")
                if script_args == "tags" and not os.path.exists(tags):
                    write_tags(url, ids, tags)
                before = cpu_seconds(proc.pid)
                if script_args == "tags":
                    wrk_args = [tags]
                elif script:
                    wrk_args = [ids, f"{pair}{name}", *script_args]
                else:
                    wrk_args = []
                r = load.wrk(url, path, script, wrk_args,
                             args.duration, args.connections, headers)
                r["drain"] = drain(db) if args.drain and has_search_list(db) else 0.0
                cpu = cpu_seconds(proc.pid) - before
                stop(proc)
                requests = r["rps"] * args.duration
                r["cpu_us"] = cpu / requests * 1e6 if requests else None
                results[(name, phase)].append(r)
                print(f"  pair {pair + 1} {name:8} {phase:8} {r['rps']:>9.0f} req/s"
                      f"  {r['cpu_us']:6.2f} us CPU/req  p99 {r['p99']:.2f} ms"
                      f"  errors {r['errors']}"
                      + (f"  drained in {r['drain']:.2f} s" if args.drain else ""),
                      file=sys.stderr)
    shutil.rmtree(tmp, ignore_errors=True)

    (a, _), (b, _) = variants
    print(f"\n{args.users} users, {args.pairs} alternating pairs of {args.duration} s, "
          f"{args.connections} connections, RUST_LOG={args.rust_log}"
          f"{', CPU counted until the search index caught up' if args.drain else ''}"
          f"{', over TLS: ' + ', '.join(args.tls) if args.tls else ''}; medians.\n")
    print(f"| phase | {a} req/s | {b} req/s | req/s {a}/{b} "
          f"| {a} us CPU/req | {b} us CPU/req | CPU {a}/{b} | {a} p99 ms | {b} p99 ms |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for phase in phases:
        med = {n: [statistics.median(r[key] for r in results[(n, phase)])
                   for key in ("rps", "cpu_us", "p99")]
               for n in (a, b)}
        print(f"| {phase} | {med[a][0]:,.0f} | {med[b][0]:,.0f} | {med[a][0] / med[b][0]:.3f} "
              f"| {med[a][1]:.2f} | {med[b][1]:.2f} | {med[a][1] / med[b][1]:.3f} "
              f"| {med[a][2]:.2f} | {med[b][2]:.2f} |")
    # The same binary's phases against each other (they alternate within
    # every pair): what a key or a revalidation costs.
    for variant, base in (("post-key", "post"), ("get-inm", "get")):
        if variant in phases and base in phases:
            for n in (a, b):
                rps = [v["rps"] / w["rps"] for v, w in zip(results[(n, variant)], results[(n, base)])]
                cpu = [v["cpu_us"] / w["cpu_us"] for v, w in zip(results[(n, variant)], results[(n, base)])]
                print(f"\n{n}: {variant}/{base} per pair: req/s "
                      + ", ".join(f"{x:.3f}" for x in rps)
                      + f" (median {statistics.median(rps):.3f}); CPU/req "
                      + ", ".join(f"{x:.3f}" for x in cpu)
                      + f" (median {statistics.median(cpu):.3f})")
    errors = sum(r["errors"] for rs in results.values() for r in rs)
    print(f"\nerrors (non-2xx and socket) over all runs: {errors}")


if __name__ == "__main__":
    main()
