#!/usr/bin/env bash
# The one prepared GPU check (issue 17: fill the GPU), in order of what matters most, inside a
# time budget: each step has its own timeout, and a step that would start past DEADLINE seconds
# is skipped and named in the table (a later session runs just those: STEPS="train darts").
#   1 test     the compiled search step against the eager one on CUDA (tests/test_compile.py,
#              nb201: darts, pr_darts, gdas; default and reduce-overhead modes)
#   2 nb201    bench: nb201 darts search step, fast against compiled (reduce-overhead)
#   3 sweep    `sweep --workers N`, N = 1, 2, 4, 8, on one GPU: N short nb201 darts searches at
#              once; searches per hour, images/s summed over workers, peak GPU memory
#   4 train    bench: the training step (DARTS cell, C=36, 20 cells), fast against compiled
#   5 pr_darts bench: nb201 pr_darts search step, fast against compiled (reduce-overhead)
#   6 modes    bench: nb201 darts, compiled in default and max-autotune mode
#   7 bf16     bench: nb201 darts compiled (reduce-overhead) with bf16 autocast, and channels-last
#   8 darts    bench: darts-space darts search step, fast against compiled (reduce-overhead)
#   9 run      a real `run --compile reduce-overhead` of pr_darts on nb201 (2 short epochs)
# Expected on an H200: steps 1-5 in about 7 minutes (compiling dominates: inductor's cold
# compile of a search cell takes tens of seconds); 6-9 only if DEADLINE leaves room.
#   DATA=.gpudata OUT=/tmp/device_check bash scripts/device_check.sh
# DATA holds cifar-10-batches-py/ and nb201/nb201.csv.gz (copies of ../shared/data).
# Files left under OUT (at most 8 come back): device_check.log (everything), bench/<machine>.json
# (every bench figure with its commit and device), sweep.json, table.txt.
set -uo pipefail
cd "$(dirname "$0")/.."
export PYTHONUNBUFFERED=1 NASBENCH_OFFLINE=1 PYTHONPATH=$PWD
PY=${PY:-python3}; DATA=${DATA:-.gpudata}; OUT=${OUT:-/tmp/device_check}
DEADLINE=${DEADLINE:-450}; STEPS=${STEPS:-"test nb201 sweep train pr_darts modes bf16 darts run"}
WORK=$(mktemp -d /tmp/device_check.XXXX)
mkdir -p "$OUT"
exec > >(tee -a "$OUT/device_check.log") 2>&1
T0=$SECONDS
SUMMARY=()
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
$PY -c "import torch; print('torch', torch.__version__, torch.cuda.get_device_name())"
git log -1 --format='commit %h %s' 2>/dev/null || true

wanted() { [[ " $STEPS " == *" $1 "* ]]; }
# step NAME LIMIT CMD...: run CMD with a timeout of LIMIT seconds (less where the deadline is
# nearer), or skip it when fewer than 30 s are left.
step() {
    local name=$1 limit=$2 left=$((DEADLINE - (SECONDS - T0))); shift 2
    if ((left < 30)); then SUMMARY+=("$name: skipped (deadline)"); echo "== $name skipped: ${left}s left"; return 1; fi
    ((limit > left)) && limit=$left
    echo "== $name (timeout ${limit}s): $*"
    local start=$SECONDS
    timeout --kill-after=10 "$limit" "$@"
    local rc=$?
    SUMMARY+=("$name: exit $rc after $((SECONDS - start))s")
    echo "== $name exit $rc after $((SECONDS - start))s"
    return $rc
}
BENCH=($PY -m nasbench_suite bench --device cuda --steps 10 --out "$OUT/bench")

wanted test && step test 150 $PY -m pytest -q -p no:cacheprovider tests/test_compile.py -k \
    "cuda and ([darts-nb201 or pr_darts-nb201 or gdas-nb201)"
wanted nb201 && step nb201 180 "${BENCH[@]}" --phase search --space nb201 --method darts --path fast --path compiled \
    --compile-mode reduce-overhead

if wanted sweep; then
    # N searches of one epoch on 1,920 images a half (30 steps each), N workers at once
    for n in 1 2 4 8; do
        nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -lms 250 > "$WORK/mem-$n.txt" &
        smi=$!
        start=$SECONDS
        step "sweep-$n" 90 $PY -m nasbench_suite sweep --method darts --space nb201 --seed "0-$((n - 1))" --epochs 1 \
            --train-subset 3840 --device cuda --data-dir "$DATA" --benchmark "$DATA/nb201/nb201.csv.gz" \
            --out "$WORK/runs-$n" --sweep-dir "$WORK/sweeps-$n" --workers "$n" --no-wait
        echo "$n $((SECONDS - start))" >> "$WORK/walls.txt"
        kill "$smi" 2>/dev/null; wait "$smi" 2>/dev/null
    done
    $PY - "$WORK" "$OUT/sweep.json" <<'EOF'
import json, pathlib, sys
work, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
rows = []
for line in (work / "walls.txt").read_text().split("\n"):
    if not line.strip():
        continue
    n, wall = map(int, line.split())
    records = [json.loads(p.read_text()) for p in (work / f"runs-{n}").glob("*/record.json")]
    mem = [int(v) for v in (work / f"mem-{n}.txt").read_text().split() if v.strip().isdigit()]
    images = 30 * 64  # one epoch of 30 steps, batch 64, on the weight half
    rates = [images / r["search_seconds"] for r in records]
    summed = sum(rates)
    # a 50-epoch search trains on 1.25M images; the 15-search grid runs 15 / N rounds of N searches
    hours = [50 * 25_000 / r / 3600 for r in rates]
    rows.append({"workers": n, "finished": len(records), "wall_s": wall, "searches_per_hour_incl_start": 3600 * len(records) / wall,
                 "images_per_s_summed": summed, "images_per_s_per_worker": summed / max(1, len(rates)),
                 "full_search_h_each": max(hours, default=None), "grid15_h": -(-15 // n) * max(hours) if hours else None,
                 "peak_gpu_memory_mb": max(mem) - min(mem) if mem else None})
out.write_text(json.dumps(rows, indent=2))
for r in rows:
    print(f"sweep --workers {r['workers']}: {r['finished']}/{r['workers']} searches in {r['wall_s']} s, "
          f"{r['images_per_s_summed']:.0f} images/s summed ({r['images_per_s_per_worker']:.0f} each), "
          f"a 50-epoch search {r['full_search_h_each'] or float('nan'):.2f} h each, the 15-search grid "
          f"{r['grid15_h'] or float('nan'):.2f} h, GPU memory +{r['peak_gpu_memory_mb']} MB")
EOF
fi

wanted train && step train 180 "${BENCH[@]}" --phase train --path fast --path compiled --compile-mode reduce-overhead
wanted pr_darts && step pr_darts 120 "${BENCH[@]}" --phase search --space nb201 --method pr_darts --path fast \
    --path compiled --compile-mode reduce-overhead
wanted modes && step modes-default 90 "${BENCH[@]}" --phase search --space nb201 --method darts --path compiled
wanted modes && step modes-max-autotune 150 "${BENCH[@]}" --phase search --space nb201 --method darts --path compiled \
    --compile-mode max-autotune
wanted bf16 && step bf16 90 "${BENCH[@]}" --phase search --space nb201 --method darts --path compiled \
    --compile-mode reduce-overhead --bf16
wanted bf16 && step channels-last 90 "${BENCH[@]}" --phase search --space nb201 --method darts --path compiled \
    --compile-mode reduce-overhead --layout channels-last
wanted darts && step darts 150 "${BENCH[@]}" --phase search --space darts --method darts --path fast --path compiled \
    --compile-mode reduce-overhead
wanted run && step run-compiled 150 $PY -m nasbench_suite run --method pr_darts --space nb201 --epochs 2 --train-subset 5000 \
    --compile reduce-overhead --device cuda --data-dir "$DATA" --benchmark "$DATA/nb201/nb201.csv.gz" --out "$WORK/runs"

# One table of every bench figure this check took (with its commit), then the steps' outcomes.
$PY - "$OUT/bench" <<'EOF' | tee "$OUT/table.txt"
import json, pathlib, sys
for f in sorted(pathlib.Path(sys.argv[1]).glob("*.json")):
    data = json.loads(f.read_text())
    print(f"{data['machine']} ({f.name})")
    print(f"{'phase':6} {'space':6} {'method':9} {'path':38} {'ms/step':>8} {'images/s':>9} {'peak MB':>8} {'vs fast':>8} {'full run h':>10} {'1st step s':>10} commit")
    for r in data["measurements"]:
        extras = [r[k] for k in ("compile_mode", "layout") if k in r] + (["bf16"] if r.get("bf16") else [])
        path = r["path"] + (f" ({', '.join(extras)})" if extras else "")
        vs = f"{r['speedup_vs_fast']:.2f}x" if "speedup_vs_fast" in r else "-"
        print(f"{r['phase']:6} {r['space']:6} {r['method']:9} {path:38} {r['ms_per_step']:8.1f} {r['images_per_second']:9.1f} "
              f"{r['peak_memory_mb']:8.0f} {vs:>8} {r['full_run_hours']:10.2f} {r.get('first_step_seconds', float('nan')):10.1f} {r.get('git_commit')}")
EOF
[[ -f "$OUT/sweep.json" ]] && $PY -c "import json,sys; [print(r) for r in json.load(open(sys.argv[1]))]" "$OUT/sweep.json" | tee -a "$OUT/table.txt"
printf '%s\n' "${SUMMARY[@]}" | tee -a "$OUT/table.txt"
echo "== device_check done after $((SECONDS - T0))s"
