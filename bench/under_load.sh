#!/usr/bin/env bash
# The "Under load" proofs of docs/reliability.md, as they were run:
#   1. the distributed tests under `pytest -n 2`, N times in a row, beside a busy-loop process;
#   2. the full test command (.ci/run, i.e. `make test`) from a fresh clone, M times in a row.
# Usage: bench/under_load.sh [N_DISTRIBUTED=30] [N_CLONES=5] [LOG_DIR=/tmp/vegan-under-load]
# Each run appends one line to LOG_DIR/summary.txt (exit status, pytest's last line, seconds);
# the full output of each run is kept beside it. Run it on a machine with nothing else of yours
# running; it takes about 2 minutes per distributed run and 10 per clone on 2 cores.
set -u
N_DIST=${1:-30}
N_CLONE=${2:-5}
LOG=${3:-/tmp/vegan-under-load}
REPO=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$LOG"
S="$LOG/summary.txt"
cd "$REPO"
PY=${PYTHON:-.venv/bin/python}
echo "start $(date -u +%FT%TZ) commit $(git rev-parse --short HEAD)" >>"$S"
python3 -c "while True: pass" &
HOG=$!
trap 'kill $HOG 2>/dev/null' EXIT
for i in $(seq 1 "$N_DIST"); do
    t0=$(date +%s)
    "$PY" -m pytest -n 2 -q -p no:cacheprovider tests/train/test_distributed.py \
        tests/train/test_distributed_ends.py tests/train/test_distributed_teardown.py \
        >"$LOG/dist_$i.log" 2>&1
    echo "dist $i rc=$? $(tail -1 "$LOG/dist_$i.log") $(($(date +%s) - t0))s beside a busy loop" >>"$S"
done
kill $HOG
for i in $(seq 1 "$N_CLONE"); do
    rm -rf "$LOG/clone"
    git clone -q "$REPO" "$LOG/clone"
    t0=$(date +%s)
    (cd "$LOG/clone" && bash .ci/run) >"$LOG/clone_$i.log" 2>&1
    rc=$?
    echo "clone $i commit $(git -C "$LOG/clone" rev-parse --short HEAD) rc=$rc" \
        "$(grep -E 'passed|failed' "$LOG/clone_$i.log" | tail -1) $(($(date +%s) - t0))s" >>"$S"
done
echo "end $(date -u +%FT%TZ)" >>"$S"
