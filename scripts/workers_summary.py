"""Summarise the `sweep --workers N` runs scripts/device_check.sh made, into one JSON list.

    python scripts/workers_summary.py WORK OUT.json

WORK holds walls.txt ("N seconds" lines), runs-N/ (the runs) and mem-N.txt (nvidia-smi's
memory.used samples, MB, where there is a GPU). Each worker's rate is taken over its second
epoch (its first holds the compile or the cache load); summed over workers it is the
aggregate rate while all of them run, and the total images over the sweep's wall clock (start
included) is its lower bound. Reads only; writes OUT.json whole.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def summarise(work: Path) -> list[dict]:
    rows = []
    for line in (work / "walls.txt").read_text().splitlines():
        if not line.strip():
            continue
        n, wall = map(int, line.split())
        rates, images_total = [], 0
        for run in sorted((work / f"runs-{n}").glob("*/")):
            config = json.loads((run / "config.json").read_text())
            epochs = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines() if x.strip()] \
                if (run / "metrics.jsonl").exists() else []
            batch = config["settings"]["batch_size"]
            images = (config["train_subset"] // 2 // batch) * batch  # one epoch on the weight half
            images_total += images * len(epochs)
            if len(epochs) >= 2:
                rates.append(images / epochs[1]["seconds"])
        mem_file = work / f"mem-{n}.txt"
        mem = [int(v) for v in mem_file.read_text().split() if v.strip().isdigit()] if mem_file.exists() else []
        summed = sum(rates)
        rows.append({
            "workers": n, "finished": len(rates), "wall_s": wall,
            "images_per_s_summed": summed, "images_per_s_per_worker": summed / max(1, len(rates)),
            "images_per_s_wall": images_total / max(1, wall),
            # a 50-epoch search trains on 1.25M images; the 15-search grid runs ceil(15 / N) rounds
            "grid15_h": -(-15 // n) * 50 * 25_000 / min(rates) / 3600 if rates else None,
            "peak_gpu_memory_mb": max(mem) - min(mem) if mem else None,
        })
    return rows


def main() -> int:
    work, out = Path(sys.argv[1]), Path(sys.argv[2])
    rows = summarise(work)
    out.write_text(json.dumps(rows, indent=2))
    last = rows[-1] if rows else None
    if last:
        print(f"workers {last['workers']}: {last['finished']} finished, {last['images_per_s_summed']:.0f} images/s summed "
              f"({last['images_per_s_wall']:.0f} over the wall), GPU memory +{last['peak_gpu_memory_mb']} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
