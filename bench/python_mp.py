#!/usr/bin/env python3
"""Python's multiprocessing side of the multiproc benchmark (bench/main.rs runs it).

Runs one workload group with one start method and prints one line per measured key:

    RESULT <key> <seconds per operation, one per repetition>...

Standard library only. Run by hand with, for example:

    python3 bench/python_mp.py --context fork --workload map_100k --reps 5
"""

import argparse
import multiprocessing as mp
import sys
import time

MASK = (1 << 64) - 1


def nothing():
    pass


def square(x):
    return x * x


def cpu_task(iters):
    """xorshift64, the same task as the Rust side's (fewer iterations: Python is slower)."""
    x = 88172645463325252
    for _ in range(iters):
        x ^= (x << 13) & MASK
        x ^= x >> 7
        x ^= (x << 17) & MASK
    return x


def send_result(conn, nbytes):
    """A child's return value: made in the child, pickled through a Pipe."""
    conn.send(b"\x01" * nbytes)
    conn.close()


def sample(reps, warmup, per_op, fn, teardown=None):
    """Seconds per operation of each of `reps` runs of fn (teardown untimed)."""
    if warmup:
        kept = fn()
        if teardown:
            teardown(kept)
    out = []
    for _ in range(reps):
        start = time.perf_counter()
        kept = fn()
        out.append((time.perf_counter() - start) / per_op)
        if teardown:
            teardown(kept)
    return out


def report(key, samples):
    print("RESULT", key, " ".join(repr(s) for s in samples), flush=True)


def start_join(ctx):
    p = ctx.Process(target=nothing)
    p.start()
    p.join()


def run(ctx, a):
    w, reps, warm = a.workload, a.reps, not a.quick
    if w in ("start_join", "start_join_1gb"):
        hold = None
        if w == "start_join_1gb":
            hold = b"\x01" * a.hold_bytes  # written, so every page is resident
        report(w, sample(reps, warm, 1, lambda: start_join(ctx)))
        del hold
    elif w == "pool_create":
        def create():
            pool = ctx.Pool(2)
            pool.apply(square, (3,))
            return pool

        def close(pool):
            pool.terminate()
            pool.join()

        report(w, sample(reps, warm, 1, create, close))
    elif w in ("map_100k", "map_chunk1", "apply_async", "apply"):
        with ctx.Pool(2) as pool:
            if w == "map_100k":
                fn, per = (lambda: pool.map(square, range(a.map_items))), 1
            elif w == "map_chunk1":
                fn, per = (lambda: pool.map(square, range(a.chunk1_items), chunksize=1)), a.chunk1_items
            elif w == "apply_async":
                def fn():
                    pending = [pool.apply_async(square, (i,)) for i in range(a.async_tasks)]
                    return [r.get() for r in pending]
                per = a.async_tasks
            else:
                def fn():
                    for i in range(a.apply_calls):
                        pool.apply(square, (i,))
                per = a.apply_calls
            report(w, sample(reps, warm, per, fn))
    elif w == "result_64mb":
        def once():
            r, wr = ctx.Pipe(duplex=False)
            p = ctx.Process(target=send_result, args=(wr, a.result_bytes))
            p.start()
            wr.close()
            data = r.recv()
            p.join()
            r.close()
            assert len(data) == a.result_bytes

        report(w, sample(reps, warm, 1, once))
    elif w == "cpu":
        # 1-worker and 2-worker runs alternate, so both see the same load on a shared machine.
        tasks = [a.cpu_iters] * a.cpu_tasks
        with ctx.Pool(1) as one, ctx.Pool(2) as two:
            times = {one: [], two: []}
            for pool in times:
                pool.map(square, range(2), chunksize=1)  # workers up and warm
            for _ in range(reps):
                for pool in times:
                    times[pool] += sample(1, False, 1, lambda: pool.map(cpu_task, tasks, chunksize=1))
            report("cpu_1", times[one])
            report("cpu_2", times[two])
    else:
        sys.exit(f"unknown workload {w}")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--context", choices=["fork", "spawn", "forkserver"], required=True)
    p.add_argument("--workload", required=True)
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--quick", action="store_true", help="no warm-up run")
    p.add_argument("--map-items", type=int, default=100_000)
    p.add_argument("--chunk1-items", type=int, default=10_000)
    p.add_argument("--async-tasks", type=int, default=10_000)
    p.add_argument("--apply-calls", type=int, default=1_000)
    p.add_argument("--result-bytes", type=int, default=64 << 20)
    p.add_argument("--cpu-tasks", type=int, default=16)
    p.add_argument("--cpu-iters", type=int, default=200_000)
    p.add_argument("--hold-bytes", type=int, default=1 << 30)
    a = p.parse_args()
    print("INFO python", sys.version.split()[0], flush=True)
    run(mp.get_context(a.context), a)


if __name__ == "__main__":
    main()
