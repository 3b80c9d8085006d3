import csv
import gzip
import pytest
import torch

from spaces import nb201_arch as arch
from spaces.base import EdgeMix
from spaces.nb201 import NB201, NB201Config


# Cells whose params_mb_cifar10 in the source (NASWOT's dump of NB201 v1_1) disagrees with
# other cells of the same operations: a cell's count depends only on its multiset of ops.
INCONSISTENT_IN_SOURCE = {737, 5065, 6545, 11964, 15372}


def test_derived_network_parameters_match_the_table(nb201_table):
    """Exact for every cell whose table value is a whole parameter count; 199 source values are
    fractional (averages over records) and 5 contradict cells with the same operations."""
    with gzip.open(nb201_table, "rt") as f:
        rows = list(csv.DictReader(f))
    space, counts, mismatched, fractional = NB201(), {}, set(), 0
    for row in rows:
        ops = space.parse(row["arch"])
        key = tuple(sorted(ops))
        if key not in counts:
            counts[key] = sum(p.numel() for p in space.network(ops).parameters())
        table = float(row["params_mb_cifar10"]) * 1e6
        if abs(table - round(table)) > 1e-3:
            fractional += 1
        elif counts[key] != round(table):
            mismatched.add(int(row["index"]))
    assert fractional == 199
    assert mismatched == INCONSISTENT_IN_SOURCE
    assert space.params_mb(space.parse(rows[9930]["arch"])) == float(rows[9930]["params_mb_cifar10"]) == 1.288506


@pytest.mark.parametrize(
    "text, skip, depth, conv_depth",
    [
        ("|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|skip_connect~2|", 6, 3, 0),
        ("|nor_conv_3x3~0|+|none~0|nor_conv_1x1~1|+|none~0|none~1|avg_pool_3x3~2|", 0, 3, 2),
        ("|none~0|+|none~0|none~1|+|nor_conv_3x3~0|none~1|none~2|", 0, 1, 1),
        ("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|none~0|none~1|none~2|", 0, 0, 0),  # 3 unreachable
        ("|skip_connect~0|+|none~0|none~1|+|nor_conv_1x1~0|avg_pool_3x3~1|none~2|", 1, 2, 1),
    ],
)
def test_describe_counts_skips_and_depths(text, skip, depth, conv_depth):
    info = NB201().describe(arch.parse_arch(text))
    assert info == {"skip_count": {"cell": skip}, "depth": {"cell": depth}, "conv_depth": {"cell": conv_depth}}


def test_derive_keeps_the_strongest_operation_none_included():
    scores = torch.zeros(6, 5)
    for e, o in enumerate([0, 1, 2, 3, 4, 0]):
        scores[e, o] = 1.0
    assert NB201().format(NB201().derive({"cell": scores})) == (
        "|none~0|+|skip_connect~0|nor_conv_1x1~1|+|nor_conv_3x3~0|avg_pool_3x3~1|none~2|"
    )


def tiny_supernet():
    torch.manual_seed(0)
    return NB201().supernet(NB201Config(init_channels=4, cells_per_stage=1), num_classes=10)


def test_sparse_mix_equals_dense_mix_with_zeros_elsewhere():
    net, x = tiny_supernet(), torch.randn(4, 3, 32, 32)
    weights = torch.rand(6, 5)
    kept = [[1, 3], [2, 4], [0, 3], [1, 2], [3, 4], [0, 1]]
    dense = torch.zeros(6, 5)
    for e, ops in enumerate(kept):
        dense[e, ops] = weights[e, ops]
    sparse = EdgeMix(torch.stack([weights[e, ops] for e, ops in enumerate(kept)]), kept)
    torch.testing.assert_close(net(x, {"cell": sparse}), net(x, {"cell": EdgeMix(dense)}))


def test_the_plain_path_runs_only_the_kept_operations():
    net, calls = tiny_supernet(), []
    cell = net.cells[0]
    cell.fast = False
    for e, ops in enumerate(cell.edges):
        for o, op in enumerate(ops):
            op.register_forward_hook(lambda *_, e=e, o=o: calls.append((e, o)))
    kept = [[3, 1]] * 6
    net(torch.randn(2, 3, 32, 32), {"cell": EdgeMix(torch.ones(6, 2), kept)})
    assert sorted(calls) == sorted((e, o) for e in range(6) for o in (1, 3))


@pytest.mark.parametrize("fast", [False, True])
def test_operations_left_out_get_no_gradient_on_either_path(fast):
    net = tiny_supernet()
    for m in net.modules():
        if hasattr(m, "fast"):
            m.fast = fast
    kept = [[3, 1], [2, 0], [3, 4], [1, 2], [0, 3], [2, 4]]
    net(torch.randn(2, 3, 32, 32), {"cell": EdgeMix(torch.ones(6, 2), kept)}).sum().backward()
    for cell in (m for m in net.modules() if hasattr(m, "fast")):
        for e, ops in enumerate(cell.edges):
            for o, op in enumerate(ops):
                for p in op.parameters():
                    assert (p.grad is not None) == (o in kept[e]), (e, arch.OPS[o])
