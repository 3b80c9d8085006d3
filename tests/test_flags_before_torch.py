"""`run` checks every flag before torch loads, so a typo is answered at once; the torch-free
settings (methods/configs.py, spaces/configs.py) are the ones the registered modules use."""

import os
import subprocess
import sys

from conftest import ROOT
from methods import configs as method_configs
from methods.base import METHODS
from nasbench_suite import registry
from spaces import configs as space_configs
from spaces.base import SPACES


def test_bad_run_flags_are_refused_without_loading_torch():
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
    ]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", code, *calls], capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    errors = done.stderr.strip().splitlines()
    assert len(errors) == len(calls) and "--epochz" in errors[0] and "--k must be between 1 and the 5" in errors[1]


def test_the_torch_free_settings_are_the_registered_ones():
    registry.get_method("darts")  # loads every module
    assert sorted(METHODS) == registry.method_names()
    assert all(METHODS[n].Config is method_configs.CONFIGS[n] for n in METHODS)
    assert sorted(SPACES) == registry.space_names()
    assert all(SPACES[n].Config is space_configs.CONFIGS[n] and SPACES[n].spec == space_configs.SPECS[n] for n in SPACES)
