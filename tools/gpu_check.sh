#!/usr/bin/env bash
# The GPU measurement: the run sets `cases` (the post's schedule) and `seeds`, `clip-lr` and `critic`
# trained on a CUDA device, with their wall times. Run it once from the repository root on a
# machine with a GPU, with the POT wheel of that machine's Python beside it:
#
#   here, once:  echo /.whl/ >> .git/info/exclude
#                python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 \
#                    --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux2014_x86_64 \
#                    -d .whl POT==0.9.7.post1
#   device:      EXPECT_FINGERPRINT=<code_fingerprint() here> WGAN_GIT_COMMIT=<git rev-parse HEAD> \
#                    bash tools/gpu_check.sh
#   (commit first: the device gets a copy of the tree without .git, so the runs' provenance names
#   the commit declared in WGAN_GIT_COMMIT, marked '-declared')
#
# The machine has torch (a CUDA build), numpy, scipy, scikit-learn, matplotlib, tqdm and filelock;
# POT (the exact W1 distance) travels as the wheel above. Everything it writes goes to $OUT:
# bench.txt, timings.txt and results.tgz (the runs, with provenance naming the GPU).
set -euo pipefail
OUT=${OUT:-/tmp/gpu_check}
mkdir -p "$OUT"
if compgen -G ".whl/*.whl" > /dev/null; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl
    export PYTHONPATH=/tmp/site
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
DEVICE=${DEVICE:-cuda}
EPOCHS=${EPOCHS:-}   # empty: the real schedules; a number: a smoke test of this script (e.g. on a CPU)
epochs_flag=${EPOCHS:+--epochs $EPOCHS}
nvidia-smi -L 2>/dev/null | tee "$OUT/timings.txt" || true

# The machine runs its image's python3 (3.12 on nvidia-h200), not the pinned 3.11: its code
# fingerprint must equal the one computed here, or every run it stores would load as stale here.
fingerprint=$(python3 -c "from wgan_lib.store import code_fingerprint; print(code_fingerprint())")
echo "python $(python3 -c 'import sys; print(sys.version.split()[0])'), code fingerprint $fingerprint" | tee -a "$OUT/timings.txt"
if [[ -n "${EXPECT_FINGERPRINT:-}" && "$fingerprint" != "$EXPECT_FINGERPRINT" ]]; then
    echo "code fingerprint differs from the expected $EXPECT_FINGERPRINT: runs stored here would be stale" \
        | tee -a "$OUT/timings.txt"
    SKIP_TRAINING=${SKIP_TRAINING:-1}
fi

timed() {  # timed LABEL COMMAND...: run it, append its wall time to timings.txt
    local label=$1; shift
    local start=$SECONDS
    "$@"
    echo "$label: $((SECONDS - start)) s" | tee -a "$OUT/timings.txt"
}

timed "bench" python3 -m wgan_lib bench --device "$DEVICE" ${EPOCHS:+--quick} > "$OUT/bench.txt"
if [[ "${SKIP_TRAINING:-0}" == 1 ]]; then exit 3; fi
# Every case of the post at 1000 epochs, then ten seeds of every setting (110 runs at 100 epochs),
# the clip x lr map and the critic study.
timed "reproduce cases" python3 -m wgan_lib reproduce cases --results "$OUT/results" --device "$DEVICE" \
    --quiet $epochs_flag
timed "reproduce seeds clip-lr critic" python3 -m wgan_lib reproduce seeds clip-lr critic --results "$OUT/results" \
    --device "$DEVICE" --quiet $epochs_flag
tar czf "$OUT/results.tgz" -C "$OUT" results
cat "$OUT/timings.txt"
