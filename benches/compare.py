#!/usr/bin/env python3
"""One command for a benchmarker: this service beside the original Axum +
SQLx + PostgreSQL variant (rebuilt in benches/original from ORIGINAL.md),
on the same one-core budget.

    python3 benches/compare.py                      # 3 runs, 10 s phases, 10k users
    python3 benches/compare.py --postgres postgres://user:pw@127.0.0.1:5432/db
    python3 benches/compare.py --runs 5 --duration 10 --out target/compare

It builds user-service (release), the floor, the seeder and the original;
starts the local PostgreSQL 15 cluster (`pg_ctlcluster 15 main start`, as
root or with sudo) and creates a `user_service_bench` role and database
when no `--postgres` URL is given; then runs benches/load.py with the
targets `floor` (bare actix-web, no database), `full` (user-service on
SQLite, fsync per commit), `postgres` (user-service on PostgreSQL) and
`original`, in alternating order, every phase (`get`, `post`, `mix`,
`list`, `health`) of every target in every run. The servers and the
PostgreSQL processes are pinned to CPU 0, wrk (1 thread, 32 connections)
to CPU 1. It writes `results.json`, `results.md` (the side-by-side table,
the ratios to the floor and to the original) and `chart.svg` into `--out`.
Needs: cargo, wrk, taskset, psql (and PostgreSQL 15 unless `--postgres`).
"""

import argparse
import os
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROLE = "user_service_bench"


def as_root(cmd):
    return cmd if os.geteuid() == 0 else ["sudo", "-n"] + cmd


def local_postgres():
    """Starts the local PostgreSQL 15 cluster and makes a fresh database."""
    if not os.path.exists("/usr/lib/postgresql/15/bin/postgres"):
        sys.exit("no PostgreSQL 15 here: apt-get install postgresql-15, or pass --postgres URL")
    clusters = subprocess.run(as_root(["pg_lsclusters", "-h"]), capture_output=True,
                              text=True, check=True).stdout
    main = [line.split() for line in clusters.splitlines() if line.startswith("15 ")]
    if not main:
        subprocess.run(as_root(["pg_createcluster", "15", "main"]), check=True)
        main = [["15", "main", "5432", "down"]]
    port = main[0][2]
    if "online" not in main[0]:
        subprocess.run(as_root(["pg_ctlcluster", "15", "main", "start"]), check=True)
    for _ in range(30):
        if subprocess.run(["pg_isready", "-q", "-h", "127.0.0.1", "-p", port]).returncode == 0:
            break
        time.sleep(1)
    sql = f"""
SELECT 'CREATE ROLE {ROLE} LOGIN PASSWORD ''{ROLE}''' WHERE NOT EXISTS
  (SELECT 1 FROM pg_roles WHERE rolname = '{ROLE}') \\gexec
ALTER ROLE {ROLE} LOGIN PASSWORD '{ROLE}';
DROP DATABASE IF EXISTS {ROLE} WITH (FORCE);
CREATE DATABASE {ROLE} OWNER {ROLE};
"""
    subprocess.run(as_root(["runuser", "-u", "postgres", "--", "psql", "-p", port,
                            "-v", "ON_ERROR_STOP=1", "-q"]),
                   input=sql, text=True, check=True, stdout=subprocess.DEVNULL)
    return f"postgres://{ROLE}:{ROLE}@127.0.0.1:{port}/{ROLE}"


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgres", help="a database the role may create schemas in; "
                        "default: the local PostgreSQL 15, started if needed")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--out", default=os.path.join(ROOT, "target", "compare"))
    args = parser.parse_args()
    if args.runs < 3:
        sys.exit("--runs must be at least 3: one run on this kind of machine proves nothing")
    for tool, hint in (("wrk", "apt-get install wrk"), ("taskset", "apt-get install util-linux"),
                       ("psql", "apt-get install postgresql-client"), ("cargo", "rustup")):
        if shutil.which(tool) is None:
            sys.exit(f"missing {tool}: {hint}")
    postgres = args.postgres or local_postgres()
    os.makedirs(args.out, exist_ok=True)
    results = os.path.join(args.out, "results.json")
    table = subprocess.run(
        [sys.executable, os.path.join(ROOT, "benches", "load.py"),
         "--targets", "floor,full,postgres,original", "--postgres", postgres,
         "--runs", str(args.runs), "--duration", str(args.duration),
         "--users", str(args.users), "--json", results],
        check=True, stdout=subprocess.PIPE, text=True).stdout
    with open(os.path.join(args.out, "results.md"), "w") as f:
        f.write(table)
    subprocess.run(["cargo", "run", "--release", "--quiet", "--example", "chart",
                    "--features", "chart", "--", results,
                    os.path.join(args.out, "chart.svg")], cwd=ROOT, check=True)
    print(table)
    print(f"Written: {results}, {os.path.join(args.out, 'results.md')}, "
          f"{os.path.join(args.out, 'chart.svg')}")


if __name__ == "__main__":
    main()
