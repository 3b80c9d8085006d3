"""`run`, `train` and `describe` check every flag before torch loads, so a typo is answered at
once; the torch-free settings and text forms (methods/configs.py, spaces/configs.py) are the
ones the registered modules use."""

import os
import subprocess
import sys

from conftest import ROOT
from methods import configs as method_configs
from methods.base import METHODS
from nasbench_suite import registry
from spaces import configs as space_configs
from spaces.base import SPACES


NB201_CELL = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"


def test_bad_flags_are_refused_without_loading_torch(tmp_path):
    code = (
        "import sys\n"
        "from nasbench_suite.cli import main\n"
        "for args in sys.argv[1:]:\n"
        "    try:\n"
        "        rc = main(args.split(' '))\n"
        "    except SystemExit as stop:  # argparse's own one line\n"
        "        rc = stop.code\n"
        "    assert rc == 2, (args, rc)\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    calls = [
        "run --method pr_darts --space nb201 --epochz 3",  # a typo
        "run --method pr_darts --space nb201 --k 9",  # a value the space cannot take
        "run --method darts --space nb201 --lambda1 0.1",  # another method's flag
        "run --method darts --space darts --layers 0",
        "run --method nope --space nb201",
        "run --method darts --space nb201 --epochs 0",
        "train --space darts --genotype darts_v2 --epochs 0",
        "train --space darts --genotype not_a_cell",
        "train --space nope --genotype darts_v2",
        f"train --space nb201 --genotype {NB201_CELL}",
        "train --space darts --genotype darts_v2 --dataset imagenet",
        "train --space darts --genotype darts_v2 --drop-path 1",
        f"train --space darts --genotype {tmp_path}",  # a directory without a record
        "describe --space darts --genotype not_a_cell",
        f"describe --space nb201 --genotype {NB201_CELL} --dataset imagenet",
        "describe --space nope --genotype darts_v2",
    ]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", code, *calls], capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    errors = done.stderr.strip().splitlines()
    assert len(errors) == len(calls) and "--epochz" in errors[0] and "--k must be between 1 and the 5" in errors[1]
    more = errors[6:]  # train, then describe
    assert "--epochs must be at least 1, not 0" in more[0] and "'not_a_cell' is not a published cell" in more[1]
    assert "unknown search space 'nope'" in more[2] and "looked up in its benchmark, not trained" in more[3]
    assert "--dataset imagenet needs --data-dir" in more[4] and "--drop-path and --label-smoothing must be below 1" in more[5]
    assert f"{tmp_path} has no record.json" in more[6]
    assert "'not_a_cell' is not a published cell" in more[7] and "the nb201 space has no ImageNet network" in more[8]
    assert "unknown search space 'nope'" in more[9]


def test_the_torch_free_settings_are_the_registered_ones():
    registry.get_method("darts")  # loads every module
    assert sorted(METHODS) == registry.method_names()
    assert all(METHODS[n].Config is method_configs.CONFIGS[n] for n in METHODS)
    assert sorted(SPACES) == registry.space_names()
    assert all(SPACES[n].Config is space_configs.CONFIGS[n] and SPACES[n].spec == space_configs.SPECS[n] for n in SPACES)
    assert all(issubclass(SPACES[n], space_configs.INFO[n]) for n in SPACES)  # train and describe check with the same text form
