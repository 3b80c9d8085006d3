#!/usr/bin/env bash
# GPU check of `tune` (run from the repository root on a CUDA machine with optuna installed):
# 1, 2 and 4 workers sharing one GPU and one SQLite study, then the proxy objective on CUDA.
# Prints each command's trial lines and wall time, then search seconds per trial by study.
#   DATA=../shared/data EPOCHS=10 OUT=/tmp/tune-gpu-check bash scripts/tune_gpu_check.sh
set -uo pipefail
export NASBENCH_OFFLINE=1 PYTHONUNBUFFERED=1
DATA=${DATA:-../shared/data}; OUT=${OUT:-/tmp/tune-gpu-check}; EPOCHS=${EPOCHS:-10}; DEV=${DEV:-cuda}
mkdir -p "$OUT"
COMMON="--method pr_darts --space nb201 --device $DEV --data-dir $DATA --benchmark $DATA/nb201/nb201.csv.gz
        --epochs $EPOCHS --out $OUT/runs --tuning-dir $OUT/tuning ${EXTRA:-}"
python3 -c "import torch, optuna; print('torch', torch.__version__, 'optuna', optuna.__version__, 'cuda', torch.cuda.is_available())"
step() {
    local name=$1; shift; local start=$SECONDS
    python3 -m nasbench_suite tune $COMMON --study "$name" "$@" > "$OUT/$name.log" 2>&1
    echo "== $name: exit $? after $((SECONDS - start)) s"
    grep -E "^(trial |study |importance|best:)|workers started|ended with|error" "$OUT/$name.log"
}
step one-worker --trials 3 --workers 1
step two-workers --trials 6 --workers 2
step four-workers --trials 8 --workers 4
step proxy --trials 2 --objective proxy --proxy-epochs 3
python3 - "$OUT/runs" <<'PY'
import json, pathlib, statistics, sys
by_study = {}
for path in pathlib.Path(sys.argv[1]).glob("*/record.json"):
    record = json.loads(path.read_text())
    by_study.setdefault(record["config"]["tuning"]["study"], []).append(record)
for study, records in sorted(by_study.items()):
    secs = [r["search_seconds"] for r in records]
    print(f"{study}: {len(secs)} searches of {records[0]['epochs']} epochs, search seconds mean {statistics.mean(secs):.1f}"
          f" (min {min(secs):.1f}, max {max(secs):.1f}); {records[0]['device']}")
PY
