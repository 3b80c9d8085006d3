#!/usr/bin/env bash
# Fills .devicekit/ (ignored by git) with what scripts/device_check.sh needs on the GPU machine,
# which reaches no network and has torch 2.11 but no Optuna, SQLAlchemy, Alembic, colorlog, Mako
# (nor greenlet, which SQLAlchemy 2.1 no longer needs): the CIFAR-10 subset (its test batch cut to 1,000 images: the check never tests),
# the NAS-Bench-201 table, and those packages as wheels for its Python 3.12 (the versions this
# checkout's venv runs). Run it here, in the checkout the device tool sends, once:
#   bash scripts/device_prepare.sh [SHARED_DATA]      # default ../shared/data
# Then the whole check is one device call (it ends within 7 minutes: DEADLINE=400 s):
#   run(command="bash scripts/device_check.sh", carry=[".devicekit"], timeout_s=480)
# Its figures come back under $OUT: device_check.log, bench/*.json, workers.json, table.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED=${1:-../shared/data}
KIT=.devicekit
mkdir -p "$KIT/data/cifar-10-batches-py" "$KIT/data/nb201" "$KIT/wheels"
cp "$SHARED/cifar-10-batches-py/batches.meta" "$SHARED/cifar-10-batches-py/data_batch_1" "$KIT/data/cifar-10-batches-py/"
cp "$SHARED/nb201/nb201.csv.gz" "$KIT/data/nb201/"
PY=${PY:-python3}
$PY - "$SHARED/cifar-10-batches-py/test_batch" "$KIT/data/cifar-10-batches-py/test_batch" <<'EOF'
import pickle, sys
from pathlib import Path
from nasbench_suite.data.files import DATASETS, read_batch
images, labels = read_batch(Path(sys.argv[1]), DATASETS["cifar10"])
batch = {b"data": images[:1000].reshape(1000, -1), b"labels": labels[:1000].tolist(), b"batch_label": b"test subset"}
Path(sys.argv[2]).write_bytes(pickle.dumps(batch, protocol=2))
EOF
rm -f "$KIT"/wheels/*.whl
for name in optuna sqlalchemy alembic colorlog mako; do  # greenlet: SQLAlchemy 2.1 no longer needs it
    version=$($PY -c "import importlib.metadata as m, sys; print(m.version(sys.argv[1]))" "$name")
    $PY -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
        --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
        --platform manylinux2014_x86_64 --platform manylinux1_x86_64 --platform manylinux_2_24_x86_64 \
        -d "$KIT/wheels" "$name==$version"
done
du -sh "$KIT"
ls "$KIT/wheels"
