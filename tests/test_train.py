"""Evaluation training on real CIFAR-10 images (tiny networks), its records and its resume."""

import fcntl
import json

import pytest
import torch
from PIL import Image

from nasbench_suite import records
from nasbench_suite.train import command as train
from nasbench_suite.train import ddp, genotype_arg, trainer
from nasbench_suite.cli import Parser, main
from nasbench_suite.errors import UsageError
from spaces import genotypes as g
from spaces.darts import Darts
from conftest import cli

TINY = ["--train-subset", "40", "--test-subset", "40", "--batch-size", "10", "--init-channels", "4", "--layers", "3"]


pytestmark = pytest.mark.usefixtures("one_thread")


def train_args(*argv):
    parser = Parser(prog="train")
    train.add_arguments(parser)
    return parser.parse_args([str(a) for a in argv])


def test_one_epoch_on_real_cifar_then_the_same_command_reports_it(shared_data, tmp_path, capsys):
    argv = ["train", "--space", "darts", "--genotype", "pr_darts", "--epochs", "1", *TINY,
            "--data-dir", shared_data, "--out", tmp_path, "--device", "cpu"]
    done = cli(*argv, env={"OMP_NUM_THREADS": "1"})
    assert done.returncode == 0, done.stderr
    (run_dir,) = tmp_path.iterdir()
    record = json.loads((run_dir / records.RECORD).read_text())
    assert record["kind"] == "train" and record["space"] == "darts" and record["dataset"] == "cifar10"
    assert record["source"] == {"run_id": None, "name": "pr_darts"}
    assert Darts().parse(record["genotype"]) == g.PUBLISHED["pr_darts"]
    assert record["epochs"] == 1 and record["test_images"] == 40 and record["gpu_hours"] is None
    assert record["test_error"] == pytest.approx(100 - record["test_acc"])
    net = Darts().network(g.PUBLISHED["pr_darts"], 10, channels=4, layers=3)  # no auxiliary head
    assert record["params_mb"] == sum(p.numel() for p in net.parameters()) / 1e6
    assert record["config"]["settings"]["drop_path"] == 0.2 and record["config"]["settings"]["cutout"] == 16
    (row,) = records.read_jsonl(run_dir / records.METRICS)
    assert set(row) == {"epoch", "train_loss", "train_acc", "test_loss", "test_acc", "lr", "drop_path", "seconds"}
    assert row["lr"] == 0.025 and row["drop_path"] == 0.0 and row["test_acc"] == record["test_acc"]

    before = {p.name: p.read_bytes() for p in run_dir.iterdir()}
    assert main([str(a) for a in argv]) == 0
    assert "is finished: test error" in capsys.readouterr().out
    assert {p.name: p.read_bytes() for p in run_dir.iterdir()} == before


def stop_after_first_epoch(row):
    raise KeyboardInterrupt


def test_a_stopped_training_resumes_to_the_result_of_an_unbroken_one(shared_data, tmp_path):
    argv = ["--space", "darts", "--genotype", "darts_v2", "--epochs", "2", *TINY, "--data-dir", shared_data, "--device", "cpu"]
    procs = ddp.start("cpu")
    broken = train_args(*argv, "--out", tmp_path / "broken")
    config, run_dir = train.prepare(broken)
    with pytest.raises(KeyboardInterrupt):
        trainer.Trainer(config, procs).fit(run_dir, on_epoch=stop_after_first_epoch)
    assert not (run_dir / records.RECORD).exists() and len(records.read_jsonl(run_dir / records.METRICS)) == 1
    stale = run_dir / ".checkpoint.pt.killed.tmp"  # what a SIGKILL mid-write leaves behind
    stale.write_bytes(b"half a checkpoint")
    assert train.main(broken) == 0  # the same command continues at epoch 2
    assert not stale.exists()
    assert train.main(train_args(*argv, "--out", tmp_path / "unbroken")) == 0

    (unbroken_dir,) = (tmp_path / "unbroken").iterdir()
    assert unbroken_dir.name == run_dir.name  # the name is the configuration's
    resumed, whole = (records.read_jsonl(d / records.METRICS) for d in (run_dir, unbroken_dir))
    drop_seconds = lambda rows: [{k: v for k, v in r.items() if k != "seconds"} for r in rows]  # noqa: E731
    assert [r["epoch"] for r in resumed] == [1, 2] and drop_seconds(resumed) == drop_seconds(whole)
    weights = [torch.load(d / records.CHECKPOINT, weights_only=True)["model"] for d in (run_dir, unbroken_dir)]
    for name, tensor in weights[0].items():
        torch.testing.assert_close(tensor, weights[1][name], rtol=0, atol=0, msg=name)


def test_one_run_directory_trains_in_one_process_at_a_time(shared_data, tmp_path):
    args = train_args("--space", "darts", "--genotype", "darts_v2", "--epochs", "1", *TINY, "--data-dir", shared_data,
                      "--device", "cpu", "--out", tmp_path)
    config, run_dir = train.prepare(args)
    run_dir.mkdir()
    with open(run_dir / trainer.LOCK, "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)  # as a training in progress holds it
        with pytest.raises(UsageError, match="is being trained by another process"):
            train.main(args)
    assert not (run_dir / records.CHECKPOINT).exists()


def search_record(tmp_path, **fields):
    run = tmp_path / "pr_darts-darts-s0-x"
    run.mkdir()
    records.write_json(run / records.RECORD, {"run_id": run.name, "space": "darts", "genotype": g.PUBLISHED_TEXT["pr_darts"], **fields})
    return run


def test_testing_every_second_epoch_trains_the_same_weights(shared_data, tmp_path):
    argv = ["--space", "darts", "--genotype", "darts_v2", "--epochs", "3", *TINY, "--data-dir", shared_data, "--device", "cpu"]
    for every in (1, 2):
        assert train.main(train_args(*argv, "--test-every", every, "--out", tmp_path / str(every))) == 0
    (each,), (second,) = ((tmp_path / d).iterdir() for d in ("1", "2"))
    assert each.name == second.name  # the same training, so the same run directory
    rows = {d: records.read_jsonl(run_dir / records.METRICS) for d, run_dir in (("1", each), ("2", second))}
    assert [r["test_acc"] is None for r in rows["2"]] == [True, False, False]  # epoch 2, and the last
    for row, same in zip(rows["2"], rows["1"]):
        assert row["train_loss"] == same["train_loss"] and row["test_acc"] in (None, same["test_acc"])
    records_ = [json.loads((d / records.RECORD).read_text()) for d in (each, second)]
    assert records_[0]["test_acc"] == records_[1]["test_acc"] and records_[1]["config"]["test_every"] == 2
    weights = [torch.load(d / records.CHECKPOINT, weights_only=True)["model"] for d in (each, second)]
    for name, tensor in weights[0].items():
        torch.testing.assert_close(tensor, weights[1][name], rtol=0, atol=0, msg=name)


def test_genotype_from_a_search_run_a_name_or_text(tmp_path):
    space = Darts()
    run = search_record(tmp_path)
    assert genotype_arg.resolve(space, str(run)) == (g.PUBLISHED["pr_darts"], {"run_id": run.name, "name": None})
    assert genotype_arg.resolve(space, "DARTS_V2") == (g.PUBLISHED["darts_v2"], {"run_id": None, "name": "darts_v2"})
    assert genotype_arg.resolve(space, g.PUBLISHED_TEXT["darts_v1"])[1] == {"run_id": None, "name": None}
    (run / records.RECORD).unlink()
    with pytest.raises(UsageError, match="unfinished search"):
        genotype_arg.resolve(space, str(run))


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--genotype", "darts_v3"], "is not a published cell (darts_v1, darts_v2, pr_darts), a run directory or a darts genotype"),
        (["--genotype", "results/runs/doesnotexist"], "--genotype results/runs/doesnotexist: no such run directory"),
        (["--genotype", "pr_darts", "--dataset", "imagenet"], "--dataset imagenet needs --data-dir DIR"),
        (["--genotype", "pr_darts", "--dataset", "imagenet", "--data-dir", "/nonexistent"], "no ImageNet folder at /nonexistent"),
        (["--genotype", "pr_darts", "--batch-size", "0"], "--batch-size must be at least 1"),
        (["--genotype", "pr_darts", "--drop-path", "1.5"], "--drop-path and --label-smoothing must be below 1"),
        (["--genotype", "pr_darts", "--test-every", "0"], "--test-every must be at least 1, not 0"),
        (["--resume", "RUN", "--epochs", "3"], "--resume continues a run with its own settings; drop --space, --epochs"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(extra, message, tmp_path, capsys):
    extra = [str(tmp_path / "run") if a == "RUN" else a for a in extra]
    assert main(["train", "--space", "darts", *extra, "--out", str(tmp_path / "out"), "--device", "cpu"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err, err
    assert not (tmp_path / "out").exists()


def test_a_search_run_of_another_space_is_refused(tmp_path, capsys):
    run = search_record(tmp_path, space="nb201")
    assert main(["train", "--space", "darts", "--genotype", str(run), "--out", str(tmp_path / "out")]) == 2
    assert "searched the nb201 space, not darts" in capsys.readouterr().err


def write_image_folder(root, classes=("a", "b"), per_class=2):
    for part in ("train", "val"):
        for c, name in enumerate(classes):
            (root / part / name).mkdir(parents=True)
            for i in range(per_class):
                pixels = torch.randint(0, 256, (48, 40, 3), dtype=torch.uint8, generator=torch.Generator().manual_seed(c * 10 + i))
                Image.fromarray(pixels.numpy()).save(root / part / name / f"{i}.png")
    return root


def test_imagenet_folder_trains_the_mobile_network_in_bf16(tmp_path):
    data_dir = write_image_folder(tmp_path / "imagenet")
    args = train_args("--space", "darts", "--genotype", "darts_v2", "--dataset", "imagenet", "--data-dir", data_dir,
                      "--epochs", "1", "--batch-size", "4", "--init-channels", "4", "--layers", "3", "--workers", "0",
                      "--bf16", "--channels-last", "--device", "cpu", "--out", tmp_path / "out")
    assert train.main(args) == 0
    (run_dir,) = (tmp_path / "out").iterdir()
    record = json.loads((run_dir / records.RECORD).read_text())
    assert record["dataset"] == "imagenet" and record["test_images"] == 4
    settings = record["config"]["settings"]
    assert (settings["lr"], settings["label_smoothing"], settings["bf16"], settings["channels_last"]) == (0.1, 0.1, True, True)
    net = Darts().network(g.PUBLISHED["darts_v2"], 2, channels=4, layers=3, imagenet=True)
    assert record["params_mb"] == sum(p.numel() for p in net.parameters()) / 1e6
