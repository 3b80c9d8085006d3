import json

import pytest
import torch

from spaces import genotypes as g
from spaces.base import EdgeMix, SpaceError
from spaces.darts import Darts, DartsConfig

SPACE = Darts()


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.mark.parametrize("name, cifar10_mb", [("darts_v2", 3.35), ("pr_darts", 3.44)])
def test_published_cells_have_the_published_parameter_counts(name, cifar10_mb):
    """C=36, 20 cells, CIFAR-10, without the auxiliary head (DARTS and PR-DARTS papers)."""
    assert round(SPACE.params_mb(g.PUBLISHED[name], 10), 2) == cifar10_mb


def test_darts_v2_imagenet_network_has_the_published_parameter_count():
    assert round(SPACE.params_mb(g.PUBLISHED["darts_v2"], 1000, imagenet=True), 1) == 4.7  # DARTS paper, mobile setting


def test_published_texts_round_trip_and_range_reads_as_a_list():
    for name, text in g.PUBLISHED_TEXT.items():
        genotype = g.parse_genotype(text)
        assert g.parse_genotype(g.format_genotype(genotype)) == genotype
    assert g.format_genotype(g.PUBLISHED["darts_v2"]) == g.PUBLISHED_TEXT["darts_v2"]  # written as the paper's code prints it
    assert g.PUBLISHED["pr_darts"].normal_concat == g.PUBLISHED["pr_darts"].reduce_concat == (2, 3, 4, 5)


def test_pasted_text_with_newlines_tuples_and_double_quotes_reads():
    text = """Genotype(
        normal=(("sep_conv_3x3", 0), ("sep_conv_3x3", 1), ("sep_conv_3x3", 0), ("sep_conv_3x3", 1),
                ("sep_conv_3x3", 1), ("skip_connect", 0), ("skip_connect", 0), ("dil_conv_3x3", 2),),
        normal_concat=range(2, 6),
        reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1),
                ('max_pool_3x3', 0), ('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)],
        reduce_concat=[2, 3, 4, 5],
    )"""
    assert g.parse_genotype(text) == g.PUBLISHED["darts_v2"]


V2 = g.PUBLISHED_TEXT["darts_v2"]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "darts_v2",
        "__import__('os').system('touch /tmp/pwned')",
        "Genotype(normal=__import__('os'))",
        V2.replace("Genotype(", "Genotype(normal=[], ", 1),  # normal twice
        V2.replace("normal_concat=[2, 3, 4, 5], ", ""),  # a field missing
        V2.replace("('sep_conv_3x3', 0), ", "", 1),  # seven pairs
        V2.replace("'dil_conv_3x3', 2", "'dil_conv_3x3', 4"),  # node 5's input 4 is fine, node 2's 2 is not:
        V2.replace("('sep_conv_3x3', 0)", "('sep_conv_3x3', 2)", 1),
        V2.replace("'sep_conv_3x3'", "'conv_7x7'", 1),  # unknown operation
        V2.replace("'sep_conv_3x3'", "'none'", 1),  # none is never kept
        V2.replace("normal_concat=[2, 3, 4, 5]", "normal_concat=[1, 2]"),  # an input node in the output
        V2.replace("normal_concat=[2, 3, 4, 5]", "normal_concat=range(2, 7)"),
        V2.replace("normal_concat=[2, 3, 4, 5]", "normal_concat=[2, 2]"),
        V2.replace("normal_concat=[2, 3, 4, 5]", "normal_concat=[]"),
        V2[:-1],  # unbalanced
        V2 + ")",
        "Genotype(normal=" + "[" * 100_000,  # nesting that would blow the stack
        V2.replace("('sep_conv_3x3', 0)", "('sep_conv_3x3', 0.5)", 1),
        V2.replace("('sep_conv_3x3', 0)", "('sep_conv_3x3', " + "1" * 5000 + ")", 1),  # beyond int()'s digit limit
        V2.replace("normal_concat=[2, 3, 4, 5]", "normal_concat=range(999999999)"),  # never materialised
    ],
)
def test_malformed_genotype_texts_are_refused_in_one_line(text):
    if text == V2.replace("'dil_conv_3x3', 2", "'dil_conv_3x3', 4"):
        assert g.parse_genotype(text).normal[7] == ("dil_conv_3x3", 4)
        return
    with pytest.raises(SpaceError) as err:
        g.parse_genotype(text)
    assert "\n" not in str(err.value) and str(err.value)


@pytest.mark.parametrize(
    "name, skip, depth, conv_depth",
    [
        # DARTS (2nd order): node 5 = skip(0) + dil_conv(node 2), node 2 = sep_conv(0/1); reduce: pools and skips.
        ("darts_v2", {"normal": 2, "reduce": 3}, {"normal": 2, "reduce": 2}, {"normal": 2, "reduce": 0}),
        # PR-DARTS: the chain 1 -> 2 -> 3 -> 4 -> 5 is all convolutions in both cells.
        ("pr_darts", {"normal": 1, "reduce": 0}, {"normal": 4, "reduce": 4}, {"normal": 4, "reduce": 4}),
        # DARTS (1st order): node 5 = sep_conv(0) + skip(node 2), node 2 = sep_conv(1) + sep_conv(0).
        ("darts_v1", {"normal": 3, "reduce": 3}, {"normal": 2, "reduce": 2}, {"normal": 1, "reduce": 0}),
    ],
)
def test_describe_published_cells(name, skip, depth, conv_depth):
    assert SPACE.describe(g.PUBLISHED[name]) == {"skip_count": skip, "depth": depth, "conv_depth": conv_depth}


def test_derive_keeps_two_distinct_strongest_edges_ignoring_none():
    scores = {t: torch.zeros(14, 8) for t in g.CELL_TYPES}
    n = scores["normal"]
    n[:, 0] = 10.0  # `none` strongest everywhere: never kept
    n[g.EDGES.index((0, 2)), g.OPS.index("sep_conv_3x3")] = 0.9
    n[g.EDGES.index((1, 2)), g.OPS.index("skip_connect")] = 0.5
    n[g.EDGES.index((0, 5)), g.OPS.index("max_pool_3x3")] = 0.3
    n[g.EDGES.index((0, 5)), g.OPS.index("dil_conv_5x5")] = 0.8  # one edge's two ops: only its best counts
    n[g.EDGES.index((3, 5)), g.OPS.index("sep_conv_5x5")] = 0.7
    genotype = SPACE.derive(scores)
    assert genotype.normal[0:2] == (("sep_conv_3x3", 0), ("skip_connect", 1))
    assert genotype.normal[6:8] == (("dil_conv_5x5", 0), ("sep_conv_5x5", 3))  # strongest first
    # all-zero scores: ties go to the first operation after none and the lowest inputs
    assert genotype.reduce == (("max_pool_3x3", 0), ("max_pool_3x3", 1)) * 4
    assert genotype.normal_concat == genotype.reduce_concat == (2, 3, 4, 5)
    assert SPACE.parse(SPACE.format(genotype)) == genotype


def test_spec_edges_ops_and_chain():
    spec = SPACE.spec
    assert spec.num_edges == 14 and spec.ops[0] == "none" and spec.ops[3] == "skip_connect"
    assert [spec.edges[e] for e in spec.chain] == [(1, 2), (2, 3), (3, 4), (4, 5)]
    assert spec.cell_types == ("normal", "reduce")


def tiny_supernet():
    torch.manual_seed(0)
    return SPACE.supernet(DartsConfig(init_channels=4, layers=3), num_classes=10)


def test_sparse_mix_equals_dense_mix_with_zeros_elsewhere():
    net, x = tiny_supernet(), torch.randn(2, 3, 32, 32)
    mixes_sparse, mixes_dense = {}, {}
    for t in g.CELL_TYPES:
        weights = torch.rand(14, 8)
        kept = [[(e + 1) % 8, (3 * e + 2) % 8] for e in range(14)]  # includes `none` (0) on some edges
        dense = torch.zeros(14, 8)
        for e, ops in enumerate(kept):
            dense[e, ops] = weights[e, ops]
        mixes_sparse[t] = EdgeMix(torch.stack([weights[e, ops] for e, ops in enumerate(kept)]), kept)
        mixes_dense[t] = EdgeMix(dense)
    torch.testing.assert_close(net(x, mixes_sparse), net(x, mixes_dense))


def test_sparse_mix_runs_only_the_kept_operations_and_none_only_nodes_are_zero():
    net, calls = tiny_supernet(), []
    for c, cell in enumerate(net.cells):
        cell.fast = False  # the plain path calls each op module, so hooks see every op that ran
        for e, ops in enumerate(cell.edges):
            for o, op in enumerate(ops):
                op.register_forward_hook(lambda *_, c=c, e=e, o=o: calls.append((c, e, o)))
    normal = [[4, 1]] * 14
    reduce = [[0]] * 14  # every reduction node is `none` only: zeros of the halved size
    out = net(torch.randn(2, 3, 32, 32), {"normal": EdgeMix(torch.ones(14, 2), normal), "reduce": EdgeMix(torch.ones(14, 1), reduce)})
    assert sorted(calls) == sorted((0, e, o) for e in range(14) for o in (1, 4))
    assert out.shape == (2, 10)
    assert [cell.reduction for cell in net.cells] == [False, True, True]


@pytest.mark.parametrize("fast", [False, True])
def test_operations_left_out_get_no_gradient_on_either_path(fast):
    net = tiny_supernet()
    kept = [[4, 1], [6, 3], [5, 7], [2, 4]] * 3 + [[1, 2], [3, 5]]
    for cell in net.cells:
        cell.fast = fast
    mix = {t: EdgeMix(torch.ones(14, 2), kept) for t in ("normal", "reduce")}
    net(torch.randn(2, 3, 32, 32), mix).sum().backward()
    for cell in net.cells:
        for e, ops in enumerate(cell.edges):
            for o, op in enumerate(ops):
                for p in op.parameters():
                    assert (p.grad is not None) == (o in kept[e]), (e, g.OPS[o])


def test_evaluation_network_auxiliary_head_drop_path_and_channels_last():
    torch.manual_seed(0)
    net = SPACE.network(g.PUBLISHED["pr_darts"], 10, channels=4, layers=3, auxiliary=True)
    x = torch.randn(4, 3, 32, 32)
    net.train()
    logits, aux = net(x)
    assert logits.shape == aux.shape == (4, 10)
    net.eval()
    plain = net(x)
    net.drop_path_prob = 0.5  # no effect outside training
    torch.testing.assert_close(net(x), plain)
    net.to(memory_format=torch.channels_last)
    torch.testing.assert_close(net(x.contiguous(memory_format=torch.channels_last)), plain, rtol=1e-4, atol=1e-5)
    net.train()
    torch.manual_seed(1)
    dropped, _ = net(x)
    net.drop_path_prob = 0.0
    torch.manual_seed(1)
    kept, _ = net(x)
    assert not torch.allclose(dropped, kept)


def test_describe_command_prints_cells_and_network_size(capsys):
    from nasbench_suite.cli import main

    assert main(["describe", "--space", "darts", "--genotype", "darts_v2", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["source"] == {"run_id": None, "name": "darts_v2"}
    assert info["skip_count"] == {"normal": 2, "reduce": 3} and info["params_mb"] == 3.349342
    assert round(info["multiply_adds_m"]) == 528  # as the NAS-Bench-201/GDAS authors list DARTS-V2 on CIFAR
    assert main(["describe", "--space", "darts", "--genotype", g.PUBLISHED_TEXT["pr_darts"], "--dataset", "imagenet"]) == 0
    out = capsys.readouterr().out
    assert "normal      1      4           4" in out and "imagenet network: 4.98M parameters" in out
    assert main(["describe", "--space", "darts", "--genotype", "Genotype(normal=[('sep_conv_3x3', 0)])"]) == 2
    assert "genotype text lacks normal_concat, reduce, reduce_concat" in capsys.readouterr().err
