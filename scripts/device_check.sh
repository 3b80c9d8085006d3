#!/usr/bin/env bash
# The one prepared GPU check (about 6 minutes on an H200): the speed table of `bench` (search
# and training, fast path against plain), then real short runs of `run` and `train` on real
# CIFAR-10, and the same `train` command again, which must report the finished run.
#   DATA=.gpudata OUT=/tmp/device_check bash scripts/device_check.sh
# DATA holds cifar-10-batches-py/ and nb201/nb201.csv.gz (copies of ../shared/data).
set -uo pipefail
cd "$(dirname "$0")/.."
export PYTHONUNBUFFERED=1 NASBENCH_OFFLINE=1 PYTHONPATH=$PWD
PY=${PY:-python3}; DATA=${DATA:-.gpudata}; OUT=${OUT:-/tmp/device_check}
mkdir -p "$OUT"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
$PY -c "import torch; print('torch', torch.__version__, torch.cuda.get_device_name())"
timed() { local start=$SECONDS; "$@" 2>&1 | tail -n "${TAIL:-6}"; echo "== exit ${PIPESTATUS[0]} after $((SECONDS - start)) s: ${*:3:6}"; }
BENCH_TAIL=40
TAIL=$BENCH_TAIL timed $PY -m nasbench_suite bench --device cuda --steps 10 --out "$OUT/bench"
RUN=(--device cuda --data-dir "$DATA" --benchmark "$DATA/nb201/nb201.csv.gz" --out "$OUT/runs")
timed $PY -m nasbench_suite run --method darts --space nb201 --epochs 2 "${RUN[@]}"
timed $PY -m nasbench_suite run --method pr_darts --space nb201 --epochs 2 "${RUN[@]}"
timed $PY -m nasbench_suite run --method pr_darts --space darts --epochs 1 --device cuda --data-dir "$DATA" --out "$OUT/runs"
TRAIN=(train --space darts --genotype pr_darts --epochs 1 --device cuda --data-dir "$DATA" --out "$OUT/train")
timed $PY -m nasbench_suite "${TRAIN[@]}"
TAIL=1 timed $PY -m nasbench_suite "${TRAIN[@]}"
