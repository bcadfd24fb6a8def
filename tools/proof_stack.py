"""Train chosen stacks of run sets with the training code of another checkout (for tools/restamp.py).

    python tools/proof_stack.py TREE OUT NAME:K [NAME:K ...]

NAME:K is stack K (0-based) of the run set NAME as this checkout defines it (`runsets`,
`RunSet.stack_indices`). Its runs are trained as one stack, on the CPU with one thread, by the code
of the checkout TREE: that code's own configs of the runs of the same names, its own trainer and its
own store, into OUT/NAME, with a checkpoint every 10 epochs so that the same command, run again,
resumes. To prove that a refactoring changes no number, train the same stacks with a checkout of the
commit before it (`git worktree add /tmp/old COMMIT`) and with one of the commit after, on one
machine, into two folders, and give both to tools/restamp.py.

TREE may hold code from before the run sets (commit c845eb5 and earlier): its configs then come from
its cases and studies (`runner.stored_configs`) and its sweeps (`sweeps.sweep_configs`).
"""
import json
import os
import subprocess
import sys
from pathlib import Path

from wgan_lib.config import ConfigError
from wgan_lib.runsets import get_run_set
from wgan_lib.store import run_name

CHECKPOINT_EVERY = 10

# Run by TREE's Python path: builds the configs with TREE's code and trains each stack with it.
TRAIN_IN_TREE = """
import json, sys, time
from pathlib import Path
from wgan_lib.store import run_name
stacks, out = json.loads(sys.argv[1]), Path(sys.argv[2])
if Path("wgan_lib/runsets.py").exists():
    from wgan_lib.runsets import RUN_SETS
    configs = [c for s in RUN_SETS.values() for c in s.configs]
else:
    from wgan_lib.runner import stored_configs
    from wgan_lib.sweeps import ALL_SWEEPS, sweep_configs
    configs = list(stored_configs(None)) + [c for n in ALL_SWEEPS if n != "critic" for c in sweep_configs(n)]
from wgan_lib.runner import train_and_store
by_name = {run_name(c): c for c in configs}
for token, (names, record) in stacks.items():
    missing = [n for n in names if n not in by_name]
    if missing:
        sys.exit(f"{token}: this tree does not define the runs {missing[:3]}")
    folder = out / token.split(":")[0]
    folder.mkdir(parents=True, exist_ok=True)
    start = time.time()
    print(f"{token}: {len(names)} runs, training", flush=True)
    for result in train_and_store([by_name[n] for n in names], folder, "cpu", progress=False,
                                  checkpoint_every=%d, with_snapshots=record == "snapshots"):
        print(*result, flush=True)
    print(f"{token}: done in {time.time() - start:.0f} s", flush=True)
""" % CHECKPOINT_EVERY


def stacks_of(tokens):
    """{NAME:K: (run names, record)} for this checkout's run sets; SystemExit naming a bad token."""
    stacks = {}
    for token in tokens:
        name, _, k = token.partition(":")
        try:
            run_set = get_run_set(name)
        except ConfigError as err:
            sys.exit(f"error: {err}")
        indices = run_set.stack_indices()
        if not k.isdigit() or int(k) >= len(indices):
            sys.exit(f"error: {token!r}: run set {name} has stacks 0 to {len(indices) - 1}; give NAME:K")
        stacks[token] = ([run_name(run_set.configs[i]) for i in indices[int(k)]], run_set.record)
    return stacks


def main(argv):
    if len(argv) < 3:
        sys.exit(__doc__)
    tree, out, tokens = Path(argv[0]).resolve(), Path(argv[1]).resolve(), argv[2:]
    if not (tree / "wgan_lib" / "__init__.py").exists():
        sys.exit(f"error: TREE {tree} holds no wgan_lib package")
    stacks = stacks_of(tokens)
    env = dict(os.environ, PYTHONPATH=str(tree), OMP_NUM_THREADS="1")
    return subprocess.call([sys.executable, "-c", TRAIN_IN_TREE, json.dumps(stacks), str(out)], cwd=tree, env=env)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
