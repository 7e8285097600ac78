#!/usr/bin/env python3
"""Search and sort at scale (issue 21): pages of GET /users searched with
`q` and sorted by name, against the default newest-first page, at 10k and
at 1M users; and the upgrade of a 1M-user file from the schema before
search (version 1) to the one with its indexes.

    cargo build --release --bin user-service
    python3 benches/search.py --users 10000,1000000 --runs 3 --duration 10 \
        [--v1-binary /tmp/base/target/release/user-service]

Users are made from realistic first and last names (some with accents) and
imported with `user-service import`. Each phase runs wrk (1 thread, 32
connections, on CPU 1) against one server pinned to CPU 0 with one worker,
over a list of paths taken in turn: 200 search terms of 3 to 6 characters
cut from the names, 1-2 character word prefixes, or one fixed page. Prints
Markdown tables (medians of the runs) of req/s, p99 and the server's CPU
per request; with --v1-binary also how long the upgrade took and the file
size before and after.
"""
import argparse, os, random, shutil, statistics, subprocess, sys, tempfile, time, json

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import load  # noqa: E402
from ab import cpu_seconds, stop  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target/release/user-service")
PATHS_LUA = os.path.join(ROOT, "benches/wrk/paths.lua")

FIRST = ("Ada Alan Anna Ben Björn Carla Chen Chloé David Dmitri Elena Emma Fatima Felix "
         "Grace Hanna Hugo Ingrid Ivan Jack James Jana José Julia Karl Kenji Laura Lea "
         "Liam Lucas Maria Mateo Mia Mohammed Nina Noah Olga Omar Paula Pedro Priya Rosa "
         "Sara Sofia Søren Tom Yuki Zoë").split()
LAST = ("Müller Schmidt Schneider Fischer Weber Meyer Wagner Becker Hoffmann Schäfer Koch "
        "Richter Klein Wolf Neumann Schwarz Zimmermann Braun Krüger Hofmann Hartmann Lange "
        "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez "
        "Lopez Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson "
        "White Harris Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright "
        "Scott Torres Nguyen Hill Flores Green Adams Nelson Baker Hall Rivera Campbell "
        "Mitchell Carter Roberts Kowalski Nowak Wiśniewski Dubois Lefèvre Rossi Russo "
        "Ferrari Esposito Bianchi Romano Silva Santos Oliveira Sato Suzuki Takahashi Tanaka "
        "Kim Park Choi Andersson Johansson Karlsson Nilsson Jensen Nielsen Hansen").split()
DOMAINS = ["example.com", "mail.example.org", "corp.example.net", "example.de"]


def write_users(path, count, rng):
    with open(path, "w") as f:
        f.write("email,name\n")
        for i in range(count):
            first, last = rng.choice(FIRST), rng.choice(LAST)
            email = f"{first.lower()}.{last.lower()}{i}@{rng.choice(DOMAINS)}"
            f.write(f"{email},{first} {last}\n")


def terms(rng, n=200):
    out = []
    while len(out) < n:
        word = rng.choice(FIRST + LAST)
        size = rng.randint(3, min(6, len(word)))
        start = rng.randint(0, len(word) - size)
        out.append(word[start:start + size].lower())
    return out


def quote(text):
    from urllib.parse import quote as q
    return q(text, safe="")


def phase_paths(name, rng):
    if name == "default":
        return ["/users?limit=100"]
    if name == "name":
        return ["/users?limit=100&sort=name"]
    if name == "search":
        return [f"/users?limit=100&q={quote(t)}" for t in terms(rng)]
    if name == "prefix":
        return [f"/users?limit=100&q={quote(w[:rng.randint(1, 2)].lower())}"
                for w in rng.sample(FIRST + LAST, 60)]
    raise ValueError(name)


def serve(db, port):
    cmd = [BIN, "serve", "--database-url", f"sqlite://{db}", "--bind", f"127.0.0.1:{port}",
           "--workers", "1"]
    log = open(db + ".log", "ab")
    proc = subprocess.Popen(["taskset", "-c", load.SERVER_CPU] + cmd, stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    load.wait_ready(url)
    return proc, url


def run_wrk(url, paths, duration, tmp):
    path_file = os.path.join(tmp, "paths.txt")
    with open(path_file, "w") as f:
        f.write("\n".join(paths) + "\n")
    out = subprocess.run(["taskset", "-c", load.LOAD_CPU, "wrk", "-t1", "-c32", f"-d{duration}s",
                          "--latency", "-s", PATHS_LUA, url, "--", path_file],
                         check=True, capture_output=True, text=True).stdout
    rps = float(next(l for l in out.splitlines() if l.startswith("Requests/sec")).split()[1])
    p99 = next(l for l in out.splitlines() if l.strip().startswith("99%")).split()[1]
    requests = int(next(l for l in out.splitlines() if "requests in" in l).split()[0])
    non2xx = sum(int(l.split()[-1]) for l in out.splitlines() if "Non-2xx" in l)
    return rps, load.to_ms(p99), requests, non2xx


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--users", default="10000,1000000")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--phases", default="default,name,search,prefix")
    ap.add_argument("--v1-binary", help="a build of schema version 1, for the upgrade timing")
    args = ap.parse_args()
    rng = random.Random(21)
    tmp = tempfile.mkdtemp(prefix="search-bench-")
    results = {}
    upgrades = []
    try:
        for count in [int(c) for c in args.users.split(",")]:
            csv = os.path.join(tmp, f"users{count}.csv")
            write_users(csv, count, rng)
            db = os.path.join(tmp, f"users{count}.db")
            started = time.monotonic()
            subprocess.run([BIN, "import", "--input", csv, "--to", f"sqlite://{db}"],
                           check=True, capture_output=True)
            print(f"{count} users imported in {time.monotonic() - started:.1f} s", file=sys.stderr)
            if args.v1_binary and count >= 100000:
                old = os.path.join(tmp, f"v1-{count}.db")
                subprocess.run([args.v1_binary, "import", "--input", csv, "--to", f"sqlite://{old}"],
                               check=True, capture_output=True)
                before = os.path.getsize(old)
                started = time.monotonic()
                out = subprocess.run([BIN, "migrate", "--database-url", f"sqlite://{old}"],
                                     check=True, capture_output=True, text=True,
                                     env=dict(os.environ, RUST_LOG="info"))
                took = time.monotonic() - started
                after = os.path.getsize(old)
                upgrades.append((count, took, before, after))
                print(out.stderr, file=sys.stderr)
                os.remove(old)
            phases = args.phases.split(",")
            paths = {p: phase_paths(p, rng) for p in phases}
            for run in range(args.runs):
                proc, url = serve(db, 18400 + run)
                try:
                    for phase in phases:
                        run_wrk(url, paths[phase], 2, tmp)  # warm the cache
                        cpu0 = cpu_seconds(proc.pid)
                        rps, p99, requests, non2xx = run_wrk(url, paths[phase], args.duration, tmp)
                        cpu = (cpu_seconds(proc.pid) - cpu0) / max(requests, 1) * 1e6
                        results.setdefault((count, phase), []).append((rps, p99, cpu, non2xx))
                        print(f"  {count} run {run + 1} {phase:8} {rps:9.0f} req/s  p99 {p99:.2f} ms  "
                              f"{cpu:.1f} us CPU/req  non-2xx {non2xx}", file=sys.stderr)
                finally:
                    stop(proc)
            results[(count, "size")] = os.path.getsize(db)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"\n{args.runs} runs of {args.duration} s per phase; medians.\n")
    print("| users | page | req/s | p99 ms | us CPU/req | non-2xx |")
    print("| ---: | --- | ---: | ---: | ---: | ---: |")
    for (count, phase), runs in sorted(results.items(), key=lambda kv: (kv[0][0], kv[0][1])):
        if phase == "size":
            continue
        med = lambda i: statistics.median(r[i] for r in runs)
        print(f"| {count:,} | {phase} | {med(0):,.0f} | {med(1):.2f} | {med(2):.1f} | {sum(r[3] for r in runs)} |")
    for count in sorted({c for c, _ in results}):
        if (count, "size") in results:
            print(f"\nfile at {count:,} users: {results[(count, 'size')] / 1e6:.1f} MB")
    for count, took, before, after in upgrades:
        print(f"\nupgrade of {count:,} users from schema 1: {took:.1f} s; file {before / 1e6:.1f} MB -> {after / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
