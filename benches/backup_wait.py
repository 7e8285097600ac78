#!/usr/bin/env python3
"""What scheduled backups cost the server's writes, on a 1M-user file.

    cargo build --release --bin user-service
    python3 benches/backup_wait.py --users 1000000 --runs 3

Seeds one SQLite file with N users (`import`), then alternates two modes,
each on a fresh copy: `backups` serves it (CPU 0, one worker) with
`--backup-dir --backup-every 5s` while wrk POSTs new users over 8
connections (CPU 1) for 17 s, so three backups run during the load;
`plain` is the same without backups. Reports per mode the POST req/s, p99
and longest request (wrk's max), and the backups' durations from the log.
"""

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ab  # noqa: E402
import load  # noqa: E402

CONNECTIONS = 8
DURATION = 17


def wrk_post(url, ids, tag):
    cmd = ["taskset", "-c", load.LOAD_CPU, "wrk", "-t1", f"-c{CONNECTIONS}", f"-d{DURATION}s",
           "--latency", "-s", os.path.join(load.WRK_DIR, "users.lua"), url + "/", "--",
           ids, tag, "100"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    latency = re.search(r"Latency\s+(\S+)\s+(\S+)\s+(\S+)", out)
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
            "p99": load.to_ms(re.search(r"\s99%\s+(\S+)", out).group(1)),
            "max": load.to_ms(latency.group(3)),
            "errors": int((re.search(r"Non-2xx or 3xx responses: (\d+)", out) or [0, 0])[1])}


def serve(binary, db, port, backup_dir=None):
    cmd = [binary, "serve", "--database-url", db, "--bind", f"127.0.0.1:{port}", "--workers", "1"]
    if backup_dir:
        cmd += ["--backup-dir", backup_dir, "--backup-every", "5s", "--backup-keep", "2"]
    log = open(db + ".log", "wb")
    proc = subprocess.Popen(["taskset", "-c", load.SERVER_CPU] + cmd,
                            env=dict(os.environ, RUST_LOG="info"), stdout=subprocess.DEVNULL,
                            stderr=log)
    url = f"http://127.0.0.1:{port}"
    load.wait_ready(url)
    return proc, url


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default="target/release/user-service")
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="backup-wait-")
    source = os.path.join(tmp, "people.ndjson")
    with open(source, "w") as f:
        for i in range(args.users):
            f.write(f'{{"email":"person{i}@example.com","name":"Person {i}"}}\n')
    seeded = os.path.join(tmp, "seeded.db")
    subprocess.run([args.binary, "import", "--to", f"sqlite://{seeded}", "--input", source],
                   check=True, capture_output=True)
    print(f"seeded {args.users:,} users: {os.path.getsize(seeded) / 1e6:.0f} MB", file=sys.stderr)
    ids = os.path.join(tmp, "ids.txt")
    open(ids, "w").close()
    results = {"backups": [], "plain": []}
    durations = []
    for run in range(args.runs):
        order = ["backups", "plain"] if run % 2 == 0 else ["plain", "backups"]
        for mode in order:
            db = os.path.join(tmp, "served.db")
            ab.copy_db(seeded, db)
            backup_dir = None
            if mode == "backups":
                backup_dir = os.path.join(tmp, "backups")
                shutil.rmtree(backup_dir, ignore_errors=True)
                os.mkdir(backup_dir)
                # A backup taken just now: the first scheduled one is due in 5 s.
                open(os.path.join(backup_dir, "served-00000000T000000.000Z.db"), "w").close()
            proc, url = serve(args.binary, db, 18400, backup_dir)
            r = wrk_post(url, ids, f"{mode}{run}")
            ab.stop(proc)
            with open(db + ".log") as f:
                taken = [float(m) for m in re.findall(r"written in ([\d.]+) s", f.read())]
            durations += taken
            r["backups"] = len(taken)
            results[mode].append(r)
            print(f"  run {run + 1} {mode:7} {r['rps']:>8.0f} req/s p99 {r['p99']:.1f} ms "
                  f"max {r['max']:.1f} ms errors {r['errors']} backups {taken}", file=sys.stderr)
    print(f"\n{args.users:,} users, {args.runs} runs, medians; wrk -t1 -c{CONNECTIONS} POST for "
          f"{DURATION} s on CPU 1, the server on CPU 0; backups every 5 s.")
    print("| mode | POST req/s | p99 ms | longest ms | errors | backups in the run |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for mode in ("plain", "backups"):
        rs = results[mode]
        print(f"| {mode} | {statistics.median(r['rps'] for r in rs):,.0f} | "
              f"{statistics.median(r['p99'] for r in rs):.1f} | "
              f"{statistics.median(r['max'] for r in rs):.1f} | {sum(r['errors'] for r in rs)} | "
              f"{sum(r['backups'] for r in rs)} |")
    if durations:
        print(f"\nA backup took {statistics.median(durations):.2f} s (median of "
              f"{len(durations)}; {min(durations):.2f}-{max(durations):.2f} s).")


if __name__ == "__main__":
    main()
