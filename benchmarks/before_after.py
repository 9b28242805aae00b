"""Step time of two minigan checkouts on the speed benchmark's workloads, interleaved: did a
change make training slower?

    git worktree add ../before <commit>                  # the code before the change
    python benchmarks/before_after.py ../before .        # W1, W2, W3: before vs this checkout
    python benchmarks/before_after.py ../before . --workloads W1 --blocks 20

What is timed: one step of Algorithm 1 as benchmarks/speed.py times it (its MiniganEngine:
GANTrainer.train_step and the step's history row), each checkout with its own speed.py, so a
checkout is timed the way its own trainer is meant to be driven. How: every block is a fresh
process (one thread; OMP_NUM_THREADS, OPENBLAS_NUM_THREADS and MKL_NUM_THREADS = 1) that builds
the workload, warms up, and times --repeats runs of --steps steps; the two checkouts alternate
A, B, B, A, ... for --blocks blocks, and the ratio B / A is taken per pair of neighbouring
blocks, so both see the same background load. Fresh processes matter: a long-lived process
settles its memory allocator, and a change in what stays allocated between steps shows most in
the first few hundred steps (benchmarks/results/fast_paths.md, row 4).

Results: a Markdown table on stdout, and with --out FILE the same table written there.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

STEPS = {"W1": 200, "W2": 40, "W3": 8}      # steps per timed run: each run ~0.2-2 s

WORKER = r"""
import importlib.util, json, os, sys, time
tree = os.environ["MINIGAN_TREE"]
sys.path.insert(0, tree)
spec = importlib.util.spec_from_file_location("speed", os.path.join(tree, "benchmarks", "speed.py"))
speed = importlib.util.module_from_spec(spec)
spec.loader.exec_module(speed)
import minigan
assert os.path.realpath(minigan.__file__).startswith(os.path.realpath(tree)), minigan.__file__
workload, steps, repeats = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
engine = speed.MiniganEngine(workload, "cpu", 1, {})
engine.steps(max(3, steps // 5))
times = []
for _ in range(repeats):
    t0 = time.perf_counter()
    engine.steps(steps)
    times.append((time.perf_counter() - t0) / steps)
print(json.dumps(sorted(times)[len(times) // 2]))
"""


def time_block(tree, workload, steps, repeats):
    """Median seconds per step of one fresh process on `tree`."""
    env = dict(os.environ, MINIGAN_TREE=os.path.abspath(tree), OMP_NUM_THREADS="1",
               OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    run = subprocess.run([sys.executable, "-c", WORKER, workload, str(steps), str(repeats)],
                         env=env, capture_output=True, text=True)
    if run.returncode:
        sys.exit(f"before_after.py: the worker on {tree} failed:\n{run.stderr}")
    return float(run.stdout)


def compare(before, after, workload, blocks, repeats, steps=None):
    """(median ms per step before, after, median ratio after / before, min, max)."""
    a, b = [], []
    for i in range(blocks):
        order = [(before, a), (after, b)] if i % 2 == 0 else [(after, b), (before, a)]
        for tree, times in order:
            times.append(time_block(tree, workload, steps or STEPS[workload], repeats))
    ratios = [y / x for x, y in zip(a, b)]
    return (1e3 * statistics.median(a), 1e3 * statistics.median(b), statistics.median(ratios),
            min(ratios), max(ratios))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("before", help="a minigan checkout (the code before the change)")
    p.add_argument("after", help="another checkout (the code after the change)")
    p.add_argument("--workloads", default="W1,W2,W3", help="comma-separated, of W1, W2, W3")
    p.add_argument("--blocks", type=int, default=12, help="fresh processes per checkout")
    p.add_argument("--repeats", type=int, default=5, help="timed runs per process")
    p.add_argument("--steps", type=int, default=None,
                   help=f"steps per timed run (default per workload: {STEPS})")
    p.add_argument("--out", default=None, help="also write the table to this file")
    args = p.parse_args(argv)
    workloads = [w.strip() for w in args.workloads.split(",")]
    unknown = [w for w in workloads if w not in STEPS]
    if unknown or args.blocks < 1 or args.repeats < 1 or (args.steps or 1) < 1:
        p.error(f"workloads must be among {sorted(STEPS)} (got {unknown}); blocks, repeats and "
                f"steps >= 1")
    lines = ["| workload | before, ms/step | after, ms/step | after / before (min-max) |",
             "|---|---:|---:|---:|"]
    records = {}
    for w in workloads:
        before, after, ratio, low, high = compare(args.before, args.after, w, args.blocks,
                                                  args.repeats, args.steps)
        records[w] = {"before_ms": before, "after_ms": after, "ratio": ratio, "min": low,
                      "max": high}
        lines.append(f"| {w} | {before:.3g} | {after:.3g} | **{ratio:.3f}** "
                     f"({low:.3f}-{high:.3f}) |")
        print(lines[-1] if len(lines) > 3 else "\n".join(lines), flush=True)
    text = "\n".join(lines) + "\n"
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            f.write(text)
    return records


if __name__ == "__main__":
    print(json.dumps(main()))
