#!/usr/bin/env python3
"""Load harness: drives release builds of user-service (and the bare actix
floor, and any URL given) with wrk, one core for the server and one for the
load generator, and prints a Markdown table.

    python3 benches/load.py                       # 10k users, 10 s phases, 1 run
    python3 benches/load.py --runs 3 --duration 10 --users 10000
    python3 benches/load.py --url original=http://127.0.0.1:8080 --targets floor,full
    python3 benches/load.py --targets floor,full,postgres \
        --postgres postgres://user:pw@127.0.0.1/db --json results.json
    python3 benches/load.py --targets full --binary before=/tmp/old/user-service
    python3 benches/load.py --header 'Accept-Encoding: gzip, deflate, br'  # as a browser asks

Targets: `full` and `normal` (user-service on SQLite with that --durability),
`postgres` (user-service on the PostgreSQL that --postgres names, a fresh
schema per run; the PostgreSQL server's processes are pinned to the server
CPU too, so both backends get the same one core), `original` (the original
Axum + SQLx variant rebuilt in benches/original, on a fresh schema of the
same PostgreSQL, pinned the same way), `floor` (examples/floor.rs),
and `--url NAME=URL` for a server started elsewhere (its data is not reset;
it must serve the same API). `--json FILE` keeps every run's numbers for
`cargo run --example chart --features chart`.
Needs: cargo, wrk, taskset (util-linux), psql for `postgres`. Installs
nothing by itself; it says what is missing.
"""

import argparse
import contextlib
import io
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import ssl
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WRK_DIR = os.path.join(ROOT, "benches", "wrk")
SERVER_CPU = "0"
LOAD_CPU = "1"

PHASES = ["get", "post", "mix", "list", "health"]
FLOOR_PHASES = {"get", "post", "mix", "health"}
# Share of POSTs in the phases driven by benches/wrk/users.lua.
WRITE_PERCENT = {"get": 0, "post": 100, "mix": 10}


def need(tool, hint):
    if shutil.which(tool) is None:
        sys.exit(f"missing {tool}: {hint}")


ORIGINAL_DIR = os.path.join(ROOT, "benches", "original")
ORIGINAL_BIN = os.path.join(ORIGINAL_DIR, "target", "release", "original-user-service")
# Targets that run on PostgreSQL: its processes share the server's core.
ON_POSTGRES = {"postgres", "original"}


def runs_on_postgres(target):
    """`postgres`, `original`, and a `--binary` named `postgres-…`."""
    return target in ON_POSTGRES or target.startswith("postgres-")


def build(original=False):
    # The examples first, then the server on its own: built together, the
    # server gets the dev-dependencies' features (tokio's multi-thread
    # runtime and parking_lot), 202 KB more than the binary `cargo build
    # --release` ships (BENCHMARKS.md, "Binary size").
    subprocess.run(["cargo", "build", "--release", "--example", "floor", "--example", "seed"],
                   cwd=ROOT, check=True)
    subprocess.run(["cargo", "build", "--release", "--bin", "user-service"], cwd=ROOT, check=True)
    if original:
        # Its own workspace: a plain `cargo build --release`, as the article.
        subprocess.run(["cargo", "build", "--release"], cwd=ORIGINAL_DIR, check=True)


def wait_ready(url, timeout=20):
    # An https:// server under test serves a throwaway self-signed
    # certificate on 127.0.0.1: readiness is all that is checked here.
    context = ssl._create_unverified_context() if url.startswith("https:") else None
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url + "/health", timeout=1, context=context) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{url} did not become healthy")


def psql(url, sql):
    subprocess.run(["psql", url, "-qAtc", sql], check=True, stdout=subprocess.DEVNULL,
                   env=dict(os.environ, PGOPTIONS="-c client_min_messages=warning"))


def pin_postgres(cpus):
    """Pins every PostgreSQL process (new backends inherit the postmaster's)."""
    pids = subprocess.run(["pgrep", "-x", "postgres"], capture_output=True, text=True).stdout
    for pid in pids.split():
        subprocess.run(["taskset", "-acp", cpus, pid], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)


def start(target, port, tmp, postgres=None, binaries=None):
    release = os.path.join(ROOT, "target", "release")
    if binaries and target in binaries and not runs_on_postgres(target):
        db = os.path.join(tmp, f"{target}-{port}.db")
        cmd = [binaries[target], "serve", "--database-url", db,
               "--bind", f"127.0.0.1:{port}", "--workers", "1", "--durability", "full"]
    elif target == "floor":
        cmd = [os.path.join(release, "examples", "floor"), f"127.0.0.1:{port}", "1"]
    elif runs_on_postgres(target):
        schema = f"load_{port}_{os.getpid()}"
        psql(postgres, f"DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}")
        sep = "&" if "?" in postgres else "?"
        url = f"{postgres}{sep}options=-csearch_path%3D{schema}"
        if target == "original":
            # As the article has it; pinned to one CPU, tokio starts one
            # worker thread (it counts the CPUs it may run on).
            env = dict(os.environ, RUST_LOG="warn", DATABASE_URL=url,
                       BIND=f"127.0.0.1:{port}")
            proc = subprocess.Popen(["taskset", "-c", SERVER_CPU, ORIGINAL_BIN], env=env,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            url = f"http://127.0.0.1:{port}"
            wait_ready(url, timeout=60)
            return proc, url
        binary = (binaries or {}).get(target, os.path.join(release, "user-service"))
        cmd = [binary, "serve",
               "--database-url", url, "--bind", f"127.0.0.1:{port}", "--workers", "1"]
    else:
        db = os.path.join(tmp, f"{target}-{port}.db")
        cmd = [os.path.join(release, "user-service"), "serve",
               "--database-url", db, "--bind", f"127.0.0.1:{port}",
               "--workers", "1", "--durability", target]
    env = dict(os.environ, RUST_LOG="warn")
    proc = subprocess.Popen(["taskset", "-c", SERVER_CPU] + cmd, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    wait_ready(url)
    return proc, url


def peak_rss_mib(proc):
    try:
        with open(f"/proc/{proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def seed(url, users, ids_file):
    seeder = os.path.join(ROOT, "target", "release", "examples", "seed")
    started = time.time()
    subprocess.run(["taskset", "-c", LOAD_CPU, seeder, url, str(users), ids_file],
                   check=True, stderr=subprocess.DEVNULL)
    return time.time() - started


def floor_ids(ids_file, users):
    with open(ids_file, "w") as f:
        for i in range(users):
            f.write(f"0193a5c4-7d1e-7cc2-9b1e-{i:012x}\n")


def to_ms(text):
    m = re.match(r"([\d.]+)(us|ms|s)", text)
    if not m:
        return None
    value, unit = float(m.group(1)), m.group(2)
    return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value


def wrk(url, path, script, args, duration, connections, headers=()):
    cmd = ["taskset", "-c", LOAD_CPU, "wrk", "-t1", f"-c{connections}",
           f"-d{duration}s", "--latency"]
    for header in headers:
        cmd += ["-H", header]
    if script:
        cmd += ["-s", os.path.join(WRK_DIR, script)]
    cmd += [url + path]
    if args:
        cmd += ["--"] + args
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = to_ms(re.search(r"\s50%\s+(\S+)", out).group(1))
    p99 = to_ms(re.search(r"\s99%\s+(\S+)", out).group(1))
    errors = 0
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if m:
        errors += int(m.group(1))
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if m:
        errors += sum(int(x) for x in m.groups())
    return {"rps": rps, "p50": p50, "p99": p99, "errors": errors}


def settle(tmp, target, port, limit=120):
    """Waits until the seeding's WAL has been checkpointed into the database
    (the -wal file is gone or small and steady), so the first phase does not
    share the core with the checkpointer. Returns the seconds waited."""
    db = os.path.join(tmp, f"{target}-{port}.db")
    wal = db + "-wal"
    size = lambda path: os.path.getsize(path) if os.path.exists(path) else 0
    started = time.time()
    last, steady = None, 0
    while time.time() - started < limit:
        now = (size(db), size(wal))
        # The checkpoint grows the database file as it copies pages; when
        # neither file has changed for 3 s (or the WAL is truncated), it is done.
        steady = steady + 1 if now == last else 0
        if now[1] == 0 or steady >= 6:
            break
        last = now
        time.sleep(0.5)
    return time.time() - started


def run_target(target, url, args, tmp, run_no, port=None):
    ids_file = os.path.join(tmp, f"ids-{target}-{run_no}.txt")
    results = {}
    if target == "floor":
        floor_ids(ids_file, args.users)
    else:
        results["seed_s"] = seed(url, args.users, ids_file)
        if port is not None:
            results["settle_s"] = settle(tmp, target, port)
            print(f"  {target:8} waited {results['settle_s']:.1f} s for the seeding's checkpoint",
                  file=sys.stderr)
    tag = f"{run_no}{int(time.time())}"
    for phase in args.phase_list:
        if target == "floor" and phase not in FLOOR_PHASES:
            continue
        if phase in WRITE_PERCENT:
            r = wrk(url, "/", "users.lua", [ids_file, tag, str(WRITE_PERCENT[phase])],
                    args.duration, args.connections, args.header)
        elif phase == "list":
            r = wrk(url, "/users?limit=100", None, None, args.duration, args.connections,
                    args.header)
        else:
            r = wrk(url, "/health", None, None, args.duration, args.connections, args.header)
        results[phase] = r
        print(f"  {target:8} {phase:7} {r['rps']:>10.0f} req/s  p50 {r['p50']:.2f} ms"
              f"  p99 {r['p99']:.2f} ms  errors {r['errors']}", file=sys.stderr)
    return results


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--targets", default="floor,full,normal")
    parser.add_argument("--phases", default=",".join(PHASES),
                        help="comma-separated subset of " + ",".join(PHASES))
    parser.add_argument("--url", action="append", default=[],
                        help="NAME=URL of an already running server to measure too")
    parser.add_argument("--postgres", help="postgres:// URL for the `postgres` target "
                        "(a role that may create schemas)")
    parser.add_argument("--json", help="write every run's numbers to this file")
    parser.add_argument("--binary", action="append", default=[], metavar="NAME=PATH",
                        help="another user-service binary to run like `full` (e.g. an "
                             "older build), measured in the same run as target NAME; "
                             "named postgres-…, it runs like `postgres`")
    parser.add_argument("--update-doc", metavar="FILE",
                        help="also write the tables into FILE between the lines "
                             "<!-- load:begin --> and <!-- load:end -->")
    parser.add_argument("--header", action="append", default=[], metavar="'NAME: VALUE'",
                        help="a request header for every phase, e.g. 'Accept-Encoding: gzip' "
                             "(what browsers, Python's requests and Go's HTTP client send)")
    parser.add_argument("--no-build", action="store_true")
    args = parser.parse_args()

    need("wrk", "apt-get install wrk")
    need("taskset", "apt-get install util-linux")
    if not args.no_build:
        build(original="original" in args.targets.split(","))
    args.binaries = dict(b.split("=", 1) for b in args.binary)
    targets = [t for t in args.targets.split(",") if t] + list(args.binaries)
    unknown = set(args.phases.split(",")) - set(PHASES)
    if unknown:
        sys.exit(f"unknown phases: {sorted(unknown)}")
    args.phase_list = [p for p in PHASES if p in args.phases.split(",")]
    externals = dict(u.split("=", 1) for u in args.url)
    all_results = {t: [] for t in targets + list(externals)}
    on_postgres = {t for t in targets if runs_on_postgres(t)}
    if on_postgres:
        if not args.postgres:
            sys.exit(f"the {', '.join(sorted(on_postgres))} target(s) need --postgres URL")
        need("psql", "apt-get install postgresql-client")
        pin_postgres(SERVER_CPU)
    try:
        measure(args, targets, externals, all_results)
    finally:
        if on_postgres:
            pin_postgres("0-%d" % (os.cpu_count() - 1))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"users": args.users, "connections": args.connections,
                       "duration": args.duration, "runs": args.runs,
                       "results": all_results}, f, indent=1)
    text = io.StringIO()
    with contextlib.redirect_stdout(text):
        report(args, all_results)
    print(text.getvalue(), end="")
    if args.update_doc:
        update_doc(args.update_doc, args, text.getvalue())


def update_doc(path, args, tables):
    """Replaces the generated block of `path` with the command and tables."""
    with open(path) as f:
        doc = f.read()
    begin, end = "<!-- load:begin -->", "<!-- load:end -->"
    if begin not in doc or end not in doc:
        sys.exit(f"{path} has no {begin} ... {end} block to update")
    command = "python3 benches/load.py " + " ".join(
        a if not a.startswith("postgres") else "postgres://USER:PASSWORD@127.0.0.1/DB"
        for a in sys.argv[1:])
    block = (f"{begin}\nGenerated by `{command}` on "
             f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.\n{tables}{end}")
    head, rest = doc.split(begin, 1)
    _, tail = rest.split(end, 1)
    with open(path, "w") as f:
        f.write(head + block + tail)


def measure(args, targets, externals, all_results):
    with tempfile.TemporaryDirectory() as tmp:
        port = 3100
        for run_no in range(args.runs):
            # Alternate the order so no target always runs on a warmer machine.
            order = targets if run_no % 2 == 0 else list(reversed(targets))
            for target in order + list(externals):
                port += 1
                print(f"run {run_no + 1}/{args.runs}: {target}", file=sys.stderr)
                if target in externals:
                    proc, url = None, externals[target]
                else:
                    proc, url = start(target, port, tmp, args.postgres, args.binaries)
                try:
                    local_port = None if target in externals or runs_on_postgres(target) else port
                    results = run_target(target, url, args, tmp, run_no, local_port)
                    if proc:
                        results["rss"] = peak_rss_mib(proc)
                finally:
                    if proc:
                        proc.send_signal(signal.SIGTERM)
                        proc.wait(timeout=60)
                all_results[target].append(results)


def report(args, all_results):
    names = list(all_results)
    seeds = [r["seed_s"] for n in names for r in all_results[n] if "seed_s" in r]
    if seeds:
        print(f"\nSeeding {args.users} users over HTTP took {median(seeds):.1f} s (median).")
    sent = "".join(f"; header `{h}`" for h in args.header)
    print(f"\n{args.users} users seeded, {args.connections} connections, "
          f"{args.duration} s per phase, medians of {args.runs} run(s); "
          f"server on CPU {SERVER_CPU}, wrk on CPU {LOAD_CPU}{sent}.\n")
    header = "| phase | " + " | ".join(f"{n} req/s | p50 ms | p99 ms | err" for n in names) + " |"
    print(header)
    print("| --- |" + " ---: | ---: | ---: | ---: |" * len(names))
    for phase in args.phase_list:
        cells = []
        for n in names:
            runs = [r[phase] for r in all_results[n] if phase in r]
            if not runs:
                cells.append("– | – | – | –")
                continue
            cells.append(f"{median([r['rps'] for r in runs]):,.0f} | "
                         f"{median([r['p50'] for r in runs]):.2f} | "
                         f"{median([r['p99'] for r in runs]):.2f} | "
                         f"{sum(r['errors'] for r in runs)}")
        print(f"| {phase} | " + " | ".join(cells) + " |")
    rss = [f"{n} {median([r.get('rss') for r in all_results[n]]) or 0:.1f} MiB" for n in names]
    print("\nPeak RSS: " + ", ".join(rss))
    if "floor" in all_results:
        floor = {p: median([r[p]["rps"] for r in all_results["floor"] if p in r])
                 for p in FLOOR_PHASES}
        print("\nRatios to the floor (median req/s over median floor req/s):\n")
        print("| phase | " + " | ".join(n for n in names if n != "floor") + " |")
        print("| --- |" + " ---: |" * (len(names) - 1))
        for phase in args.phase_list:
            if phase not in FLOOR_PHASES:
                continue
            cells = []
            for n in names:
                if n == "floor":
                    continue
                v = median([r[phase]["rps"] for r in all_results[n] if phase in r])
                cells.append(f"{100 * v / floor[phase]:.0f} %" if v and floor[phase] else "–")
            print(f"| {phase} | " + " | ".join(cells) + " |")

    if "original" in all_results:
        base = {p: median([r[p]["rps"] for r in all_results["original"] if p in r])
                for p in args.phase_list}
        others = [n for n in names if n not in ("original", "floor")]
        print("\nAgainst the original (median req/s over the original's median req/s; "
              "`list` is a page of 100 here, all users there):\n")
        print("| phase | " + " | ".join(others) + " |")
        print("| --- |" + " ---: |" * len(others))
        for phase in args.phase_list:
            cells = []
            for n in others:
                v = median([r[phase]["rps"] for r in all_results[n] if phase in r])
                cells.append(f"{v / base[phase]:.1f}x" if v and base[phase] else "–")
            print(f"| {phase} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
