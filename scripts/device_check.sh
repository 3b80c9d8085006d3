#!/usr/bin/env bash
# The one prepared GPU check (issue 24): one command, done within DEADLINE seconds (400: under 7
# minutes on the device), every figure written under $OUT as it comes. In this order:
#   1 correct  the auto path (reduce-overhead on CUDA) against eager, one method of each kind of
#              mix (darts, pr_darts, gdas, darts_minus), and no host sync in darts steps
#              (tests/test_compile_auto.py); meanwhile, in parallel, the compiled benches below
#              compile once, cold, into the shared compile cache (their first step: cold/*.json)
#   2 nb201    bench: nb201 darts search step, fast against compiled (warm cache)
#   3 darts    bench: darts-space darts search step, fast against compiled
#   4 train    bench: the training step (DARTS_V2, C=36, 20 cells), fast against compiled
#   5 workers  `sweep --workers N --compile auto`, N = 1, 2, 4, 8, 16: N 2-epoch nb201 darts
#              searches at once; images/s summed over workers (second epochs), GPU memory
# A step that would start with under 30 s left is skipped and named in table.txt; STEPS="train
# workers" (say) runs only those parts in a later call.
# Prepare once, here: bash scripts/device_prepare.sh (fills the ignored .devicekit/ with the
# data and the wheels the device image lacks). Then one device call:
#   run(command="bash scripts/device_check.sh", carry=[".devicekit"], timeout_s=480)
# Rehearsal on a CPU (same script, tiny sizes, dynamo's capture without a compiler behind it;
# about 10 minutes on the project's shared 2-core CPU, every step exit 0):
#   DEVICE=cpu TINY=1 WORKERS="1 2" MODE=default NASBENCH_COMPILE_BACKEND=eager SCALE=4 DEADLINE=1800 \
#     OUT=/tmp/rehearsal bash scripts/device_check.sh
# Files under OUT (at most 8 come back): device_check.log (everything), bench/<machine>.json,
# cold/first-steps.json, workers.json, table.txt.
set -uo pipefail
cd "$(dirname "$0")/.."
DEVICE=${DEVICE:-cuda}; KIT=${KIT:-.devicekit}; OUT=${OUT:-/tmp/device_check}; DEADLINE=${DEADLINE:-400}
TINY=${TINY:-}; WORKERS=${WORKERS:-"1 2 4 8 16"}; MODE=${MODE:-reduce-overhead}; PY=${PY:-python3}
SCALE=${SCALE:-1}  # every step's time limit times this (a slow rehearsal machine)
STEPS=${STEPS:-"correct nb201 darts train workers"}
wanted() { [[ " $STEPS " == *" $1 "* ]]; }
WORK=$(mktemp -d /tmp/device_check.XXXX)
export PYTHONUNBUFFERED=1 NASBENCH_OFFLINE=1 PYTHONPATH=$PWD
export TORCHINDUCTOR_CACHE_DIR=${TORCHINDUCTOR_CACHE_DIR:-$WORK/inductor}  # cold at first, shared by every step
mkdir -p "$OUT/bench" "$OUT/cold"
exec > >(tee -a "$OUT/device_check.log") 2>&1
T0=$SECONDS
touch "$WORK/summary.txt"
if ! $PY -c "import optuna, sqlalchemy" 2>/dev/null; then  # the device image has neither: carried wheels
    $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$WORK/site" "$KIT"/wheels/*.whl \
        && export PYTHONPATH=$PWD:$WORK/site || { echo "cannot install $KIT/wheels (run scripts/device_prepare.sh)"; exit 1; }
fi
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
$PY -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, torch.cuda.get_device_name() if torch.cuda.is_available() else 'no GPU')"
git log -1 --format='commit %h %s' 2>/dev/null || true

left() { echo $((DEADLINE - (SECONDS - T0))); }
# step NAME LIMIT CMD...: CMD with a timeout of LIMIT seconds (less where the deadline is nearer),
# or skipped when fewer than 30 s are left.
step() {
    local name=$1 limit=$(($2 * SCALE)) remaining; remaining=$(left); shift 2
    if ((remaining < 30)); then echo "$name: skipped (deadline)" >> "$WORK/summary.txt"; echo "== $name skipped: ${remaining}s left"; return 1; fi
    ((limit > remaining)) && limit=$remaining
    echo "== $name (timeout ${limit}s): $*"
    local start=$SECONDS
    timeout --kill-after=10 "$limit" "$@"
    local rc=$?
    echo "$name: exit $rc after $((SECONDS - start))s" >> "$WORK/summary.txt"
    echo "== $name exit $rc after $((SECONDS - start))s"
    return $rc
}
# in_background NAME LIMIT CMD...: the same, its lines prefixed with [NAME], not waited for
# (its pid in PIDS: a bare `wait` would wait for the log's tee too)
PIDS=()
in_background() {
    local name=$1 limit=$2; shift 2
    ( step "$name" "$limit" "$@" 2>&1 | sed -u "s/^/[$name] /"; exit "${PIPESTATUS[0]}" ) &
    PIDS+=($!)
}
BENCH=($PY -m nasbench_suite bench --device "$DEVICE" --steps "${BENCH_STEPS:-10}" ${TINY:+--tiny})
COMPILED=(--path compiled --compile-mode "$MODE")

# 1: correctness, and every compiled bench's cold compile beside it (16 cores compile in parallel)
PHASE1=${PHASE1:-170}
TESTS=tests/test_compile_auto.py
if wanted correct; then
    for m in darts pr_darts gdas darts_minus; do
        in_background "correct-$m" "$PHASE1" $PY -m pytest -q -p no:cacheprovider -x "$TESTS::test_auto_on_cuda_compiles_with_cuda_graphs_and_matches_eager[$m]"
    done
    in_background correct-sync "$PHASE1" $PY -m pytest -q -p no:cacheprovider -x "$TESTS" -k no_host_sync
fi
(wanted nb201 || wanted workers) && in_background cold-nb201 "$PHASE1" "${BENCH[@]}" --steps 1 --phase search --space nb201 \
    --method darts "${COMPILED[@]}" --out "$WORK/cold-nb201"
wanted darts && in_background cold-darts "$PHASE1" "${BENCH[@]}" --steps 1 --phase search --space darts --method darts \
    "${COMPILED[@]}" --out "$WORK/cold-darts"
wanted train && in_background cold-train "$PHASE1" "${BENCH[@]}" --steps 1 --phase train "${COMPILED[@]}" --out "$WORK/cold-train"
((${#PIDS[@]})) && wait "${PIDS[@]}"
$PY - "$OUT/cold" "$WORK"/cold-*/*.json <<'EOF'
import json, pathlib, sys
rows = [r for f in sys.argv[2:] if pathlib.Path(f).is_file() for r in json.loads(pathlib.Path(f).read_text())["measurements"]]
if rows:
    pathlib.Path(sys.argv[1], "first-steps.json").write_text(json.dumps({"cold_cache": True, "measurements": rows}, indent=2))
EOF

# 2-4: the steps, fast against compiled, with the cache now warm
wanted nb201 && step nb201 90 "${BENCH[@]}" --phase search --space nb201 --method darts --path fast "${COMPILED[@]}" --out "$OUT/bench"
wanted darts && step darts 120 "${BENCH[@]}" --phase search --space darts --method darts --path fast "${COMPILED[@]}" --out "$OUT/bench"
wanted train && step train 120 "${BENCH[@]}" --phase train --path fast "${COMPILED[@]}" --out "$OUT/bench"

# 5: N searches at once, compiled; each N's row written to workers.json as it comes
if [[ -n $TINY ]]; then SUBSET=64; BATCH=8; SIZE=(--init-channels 4 --cells-per-stage 1); else SUBSET=3840; BATCH=64; SIZE=(); fi
COMPILE=$([[ $DEVICE == cuda ]] && echo auto || echo "$MODE")
wanted workers || WORKERS=
for n in $WORKERS; do
    smi=
    if command -v nvidia-smi >/dev/null; then
        nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -lms 250 > "$WORK/mem-$n.txt" &
        smi=$!
    fi
    start=$SECONDS
    step "workers-$n" 120 $PY -m nasbench_suite sweep --method darts --space nb201 --seed "0-$((n - 1))" --epochs 2 \
        --train-subset $SUBSET --batch-size $BATCH "${SIZE[@]}" --compile "$COMPILE" --device "$DEVICE" \
        --data-dir "$KIT/data" --benchmark "$KIT/data/nb201/nb201.csv.gz" \
        --out "$WORK/runs-$n" --sweep-dir "$WORK/sweeps-$n" --workers "$n" --no-wait
    echo "$n $((SECONDS - start))" >> "$WORK/walls.txt"
    [[ -n $smi ]] && { kill "$smi" 2>/dev/null; wait "$smi" 2>/dev/null; }
    $PY scripts/workers_summary.py "$WORK" "$OUT/workers.json"
done

# One table of every figure, then the steps' outcomes.
$PY - "$OUT" <<'EOF' | tee "$OUT/table.txt"
import json, pathlib, sys
for f in sorted(pathlib.Path(sys.argv[1]).glob("*/*.json")):
    data = json.loads(f.read_text())
    print(f"{f.parent.name}/{f.name}")
    print(f"{'phase':6} {'space':6} {'method':9} {'path':30} {'ms/step':>8} {'images/s':>9} {'peak MB':>8} {'vs fast':>8} {'full run h':>10} {'1st step s':>10}")
    for r in data["measurements"]:
        path = r["path"] + (f" ({r['compile_mode']})" if "compile_mode" in r else "")
        vs = f"{r['speedup_vs_fast']:.2f}x" if "speedup_vs_fast" in r else "-"
        print(f"{r['phase']:6} {r['space']:6} {r['method']:9} {path:30} {r['ms_per_step']:8.1f} {r['images_per_second']:9.1f} "
              f"{r['peak_memory_mb']:8.0f} {vs:>8} {r['full_run_hours']:10.2f} {r['first_step_seconds']:10.1f}")
    print(f"  on {r.get('gpu')} / {r.get('cpu')}, {r.get('threads')} threads, torch {r.get('torch')} (CUDA {r.get('torch_cuda')}), commit {r.get('git_commit')}")
workers = pathlib.Path(sys.argv[1], "workers.json")
for r in json.loads(workers.read_text()) if workers.exists() else []:
    print(f"workers {r['workers']:>2}: {r['finished']}/{r['workers']} finished, {r['images_per_s_summed']:.0f} images/s summed over "
          f"second epochs ({r['images_per_s_wall']:.0f} over the wall, start included), GPU memory +{r['peak_gpu_memory_mb']} MB")
EOF
tee -a "$OUT/table.txt" < "$WORK/summary.txt"
echo "== device_check done after $((SECONDS - T0))s"
