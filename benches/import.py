#!/usr/bin/env python3
"""Times `user-service import` of N users into SQLite against a bare rusqlite
bulk insert of the same rows (examples/bulk_baseline.rs, parsing excluded from
its clock), alternating runs; prints a Markdown table of medians.

    cargo build --release --example bulk_baseline
    python3 benches/import.py --users 1000000 --runs 3 [--postgres URL]

With --postgres, also imports into that database (each run into a fresh schema).
"""
import argparse, json, os, statistics, subprocess, sys, tempfile, time, uuid, datetime

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target/release/user-service")
BASELINE = os.path.join(ROOT, "target/release/examples/bulk_baseline")


def write_users(path, count):
    base = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
    with open(path, "w") as f:
        for i in range(count):
            at = (base + datetime.timedelta(microseconds=i * 997)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            f.write(json.dumps({"id": str(uuid.uuid4()), "email": f"user{i}@example.com",
                                "name": f"User {i}", "created_at": at, "updated_at": at}) + "\n")


def timed(cmd, **kw):
    started = time.monotonic()
    subprocess.run(cmd, check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)
    return time.monotonic() - started


def psql(url, sql):
    subprocess.run(["psql", url, "-qAtc", sql], check=True, stdout=subprocess.DEVNULL,
                   env={**os.environ, "PGOPTIONS": "-c client_min_messages=warning"})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--users", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--postgres", help="postgres:// URL to import into as well")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "users.ndjson")
        write_users(data, args.users)
        results = {"bare rusqlite insert (floor)": [], "user-service import, SQLite": []}
        if args.postgres:
            results["user-service import, PostgreSQL"] = []
        for run in range(args.runs):
            db = os.path.join(tmp, f"base{run}.db")
            out = subprocess.run([BASELINE, data, db], check=True, capture_output=True, text=True)
            results["bare rusqlite insert (floor)"].append(float(out.stdout.strip()))
            db = os.path.join(tmp, f"import{run}.db")
            results["user-service import, SQLite"].append(
                timed([BIN, "import", "--to", f"sqlite://{db}", "--input", data]))
            if args.postgres:
                schema = f"import_bench_{run}_{os.getpid()}"
                psql(args.postgres, f"DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}")
                sep = "&" if "?" in args.postgres else "?"
                url = f"{args.postgres}{sep}options=-csearch_path%3D{schema}"
                results["user-service import, PostgreSQL"].append(
                    timed([BIN, "import", "--to", url, "--input", data]))
                psql(args.postgres, f"DROP SCHEMA {schema} CASCADE")
        floor = statistics.median(results["bare rusqlite insert (floor)"])
        print(f"| {args.users:,} users, {args.runs} runs | median s | runs (s) | users/s | x floor |")
        print("| --- | ---: | --- | ---: | ---: |")
        for name, times in results.items():
            med = statistics.median(times)
            print(f"| {name} | {med:.2f} | {', '.join(f'{t:.2f}' for t in times)} "
                  f"| {args.users / med:,.0f} | {med / floor:.2f} |")


if __name__ == "__main__":
    sys.exit(main())
