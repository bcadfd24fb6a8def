"""OpenMP's wait policy: the plain loop and a stack of eleven runs, idle and with one core busy.

`wgan_lib` sets OMP_WAIT_POLICY=PASSIVE unless it is set already. This measures what that costs
on an idle machine and what it saves when another process competes for the cores: each setting
runs in a fresh process (the policy is read once, when torch starts its threads), first on an
idle machine, then beside a shell loop that keeps one core busy.

    python experiments/wait_policy.py [--threads 2]
"""
import argparse
import os
import subprocess
import sys

MEASURE = """
import os, torch  # torch first: the policy in force is the one this process was started with
from wgan_lib import get_case
from wgan_lib.bench import time_iterations
from wgan_lib.train import ReferenceTrainer, StackTrainer
torch.set_num_threads({threads})
s = get_case("success").config()
plain = time_iterations(ReferenceTrainer(s), 195, 60, 6, "cpu") * 1e3
stack = time_iterations(StackTrainer([s.replace(seed=i) for i in range(11)]), 195, 30, 3, "cpu") * 1e3 / 11
print(f"plain loop {{plain:6.2f}} ms/iteration   stack of 11 {{stack:6.3f}} ms/run-iteration   "
      f"ratio {{plain / stack:4.2f}}")
"""
SETTINGS = {"PASSIVE (wgan_lib's default)": "PASSIVE", "ACTIVE": "ACTIVE", "unset (libgomp's default)": None}

parser = argparse.ArgumentParser()
parser.add_argument("--threads", type=int, default=2)
args = parser.parse_args()


def measure(policy):
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    if policy is not None:
        env["OMP_WAIT_POLICY"] = policy
    out = subprocess.run([sys.executable, "-c", MEASURE.format(threads=args.threads)], env=env,
                         capture_output=True, text=True, check=True)
    return out.stdout.strip()


for load in ("idle", "one core busy"):
    busy = subprocess.Popen(["sh", "-c", "while :; do :; done"]) if load != "idle" else None
    try:
        for label, policy in SETTINGS.items():
            print(f"{load:<14}{label:<30}{measure(policy)}", flush=True)
    finally:
        if busy is not None:
            busy.kill()
