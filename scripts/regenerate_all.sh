#!/usr/bin/env bash
# Retrain every stored run that the current training code has made stale (or that is missing or
# damaged), the runs the book reads most first. Resumable: run it again after an interruption and
# it picks up at the last checkpoint; runs already current are skipped. On the 2-core CPU, after a
# change to the training code, about 3 hours: the 28 runs of `reproduce` (42 minutes for the post's
# eleven), the sweeps and the critic study, then the probes of experiments/sanity_fit.py and
# experiments/network_size.py (`retrain`: each from the config stored in its run.json).
#
#     scripts/regenerate_all.sh            # or PYTHON=python3 scripts/regenerate_all.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
$PY -m wgan_lib reproduce --jobs 2 --device cpu --quiet
$PY -m wgan_lib sweep seeds clip-lr critic --jobs 2 --device cpu --quiet
$PY -m wgan_lib retrain results/sanity results/network-size --jobs 2 --device cpu --quiet
for check in "reproduce --check" "sweep --check" "retrain results/sanity results/network-size --check"; do
    $PY -m wgan_lib $check | tail -1
done
