"""One process of a DDP training under torchrun (tests/test_train_ddp.py): the real `train`
path, then each process saves its final weights so the test can compare them."""

import sys
from pathlib import Path

import torch

from nasbench_suite.train import command as train
from nasbench_suite.train import ddp, trainer
from nasbench_suite.cli import Parser

parser = Parser(prog="ddp_train_worker")
train.add_arguments(parser)
parser.add_argument("--weights-out", type=Path, required=True)
args = parser.parse_args(sys.argv[1:])
procs = ddp.start(args.device)
config, run_dir = train.prepare(args, procs.world)
fitted = trainer.Trainer(config, procs)
fitted.fit(run_dir)
torch.save(fitted.model.state_dict(), args.weights_out / f"rank{procs.rank}.pt")
ddp.stop()
