#!/usr/bin/env python3
"""How much CPU an fsync costs on this machine, next to its wall time.

Writes PAGES pages of 4 KiB (like one commit's WAL frames), then, with
--sync, fdatasync()s the file; ROUNDS times. Prints wall and CPU time per
round. Run it on an idle core (taskset -c 1) in the directory whose disk
the database lives on. BENCHMARKS.md ("What limits durable POST now").

    taskset -c 1 python3 benches/fsync_cost.py --pages 20
"""

import argparse
import os
import time


def measure(path, pages, rounds, sync):
    page = os.urandom(4096)
    span = 64 << 20
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        offset = 0
        wall, cpu = time.perf_counter(), os.times()
        for _ in range(rounds):
            for _ in range(pages):
                os.pwrite(fd, page, offset)
                offset = (offset + len(page)) % span
            if sync:
                os.fdatasync(fd)
        after = os.times()
        wall = time.perf_counter() - wall
        used = (after.user - cpu.user) + (after.system - cpu.system)
    finally:
        os.close(fd)
        os.unlink(path)
    return 1e6 * wall / rounds, 1e6 * used / rounds


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=2000)
    parser.add_argument("--dir", default=".")
    args = parser.parse_args()
    path = os.path.join(args.dir, f"fsync-cost-{os.getpid()}.bin")
    for sync in (False, True, False, True):
        wall, cpu = measure(path, args.pages, args.rounds, sync)
        label = "pwrite + fdatasync" if sync else "pwrite only       "
        print(f"{args.pages} pages, {label}: wall {wall:6.0f} us, CPU {cpu:6.0f} us per round")


if __name__ == "__main__":
    main()
