#!/usr/bin/env python3
"""HTTP/2 against HTTP/1.1 on the same HTTPS server, alternating.

    python3 benches/h2.py --binary target/release/user-service [--pairs 5] [--duration 6]

One binary serves HTTPS (a self-signed P-256 certificate) on CPU 0 with one
worker; h2load (nghttp2-client) on CPU 1 drives it with GET /users/{id} over
1,000 seeded ids, 32 requests in flight, in three ways:

- `h1`:  32 HTTP/1.1 connections (`--h1`), one request at a time each;
- `h2`:  32 HTTP/2 connections, one stream at a time each;
- `h2x8`: 4 HTTP/2 connections, 8 concurrent streams each.

Reports per mode the median req/s and server CPU time per request. Then
`flood`: one HTTP/2 connection with 1,000 concurrent streams asking for
pages of 100 users, and the server's peak resident memory (VmHWM) before
and after: actix-http advertises no limit on concurrent streams, so the
service bounds them itself (src/startup/streams.rs; BENCHMARKS.md, "HTTP/2").
"""

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ab  # noqa: E402  (serve, stop, cpu_seconds, copy_db)
import load  # noqa: E402

MODES = {
    "h1": ["--h1", "-c", "32", "-m", "1"],
    "h2": ["-c", "32", "-m", "1"],
    "h2x8": ["-c", "4", "-m", "8"],
}


def h2load(args, uris, duration=None):
    """h2load for `duration` seconds after a second of warm-up, or for the
    request count in `args`."""
    timing = ["-D", str(duration), "--warm-up-time", "1"] if duration else []
    cmd = ["taskset", "-c", load.LOAD_CPU, "h2load", "-t", "1", "-i", uris] + timing + args
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"finished in [\d.]+\w+, ([\d.]+) req/s", out).group(1))
    done = re.search(r"requests: (\d+) total, \d+ started, (\d+) done, (\d+) succeeded, "
                     r"(\d+) failed, (\d+) errored", out)
    status = re.search(r"status codes: (\d+) 2xx", out)
    return {"rps": rps, "done": int(done.group(2)), "ok": int(status.group(1)),
            "errors": int(done.group(4)) + int(done.group(5))}


def peak_rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(r"VmHWM:\s+(\d+) kB", f.read()).group(1))


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default="target/release/user-service")
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--duration", type=int, default=6)
    parser.add_argument("--users", type=int, default=10000)
    args = parser.parse_args()
    load.need("h2load", "apt-get install nghttp2-client")
    load.need("openssl", "apt-get install openssl")
    tmp = tempfile.mkdtemp(prefix="h2-")
    tls = (os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem"))
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", tls[1], "-out", tls[0],
                    "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                   check=True, capture_output=True)
    seeded = os.path.join(tmp, "seeded.db")
    ids = os.path.join(tmp, "ids.txt")
    proc, url = ab.serve(args.binary, seeded, 18200)
    load.seed(url, args.users, ids)
    ab.stop(proc)
    uris = os.path.join(tmp, "uris.txt")
    with open(ids) as f, open(uris, "w") as out:
        for line in f.readlines()[:1000]:
            out.write(f"https://127.0.0.1:18201/users/{line.strip()}\n")

    db = os.path.join(tmp, "served.db")
    results = {mode: [] for mode in MODES}
    for pair in range(args.pairs):
        order = list(MODES) if pair % 2 == 0 else list(MODES)[::-1]
        for mode in order:
            ab.copy_db(seeded, db)
            proc, _ = ab.serve(args.binary, db, 18201, tls=tls)
            before = ab.cpu_seconds(proc.pid)
            r = h2load(MODES[mode], uris, args.duration)
            cpu = ab.cpu_seconds(proc.pid) - before
            ab.stop(proc)
            # Warm-up requests are served but not counted by h2load's rate.
            r["cpu_us"] = cpu / max(r["done"], 1) * 1e6
            results[mode].append(r)
            print(f"  pair {pair + 1} {mode:5} {r['rps']:>9.0f} req/s  {r['cpu_us']:6.2f} us "
                  f"CPU/req  errors {r['errors']}", file=sys.stderr)

    print(f"\n{args.users} users, {args.pairs} alternating rounds of {args.duration} s; medians.")
    print("| mode | req/s | vs h1 | µs CPU/req (done) | errors |")
    print("| --- | ---: | ---: | ---: | ---: |")
    h1 = statistics.median(r["rps"] for r in results["h1"])
    for mode in MODES:
        rps = statistics.median(r["rps"] for r in results[mode])
        cpu = statistics.median(r["cpu_us"] for r in results[mode])
        errors = sum(r["errors"] for r in results[mode])
        print(f"| {mode} | {rps:,.0f} | {rps / h1:.2f} | {cpu:.2f} | {errors} |")

    ab.copy_db(seeded, db)
    proc, _ = ab.serve(args.binary, db, 18201, tls=tls)
    before_kib = peak_rss_kib(proc.pid)
    page = os.path.join(tmp, "page.txt")
    with open(page, "w") as f:
        f.write("https://127.0.0.1:18201/users?limit=100\n")
    r = h2load(["-c", "1", "-m", "1000", "-n", "100000"], page)
    after_kib = peak_rss_kib(proc.pid)
    ab.stop(proc)
    print(f"\nflood: 1 connection, 1,000 concurrent streams, 100,000 pages of 100 users: "
          f"{r['rps']:,.0f} req/s, {r['ok']:,} 2xx, {r['errors']} errors; server peak RSS "
          f"{before_kib / 1024:.1f} MiB before, {after_kib / 1024:.1f} MiB after")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
