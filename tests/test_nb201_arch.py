import csv
import gzip

import pytest

from spaces import nb201_arch as arch


def read_table(path):
    with gzip.open(path, "rt") as f:
        return list(csv.DictReader(f))


def test_every_string_round_trips_and_maps_to_its_index():
    strings = arch.all_archs()
    assert len(set(strings)) == arch.NUM_CELLS == 15625
    for index, text in enumerate(strings):
        ops = arch.parse_arch(text)
        assert arch.format_arch(ops) == text
        assert arch.arch_to_index(text) == index
        assert arch.index_to_arch(index) == text


def test_our_enumeration_is_the_benchmarks_index(nb201_table):
    rows = read_table(nb201_table)
    assert [r["arch"] for r in rows] == arch.all_archs()
    assert [int(r["index"]) for r in rows] == list(range(15625))


def test_known_cells():
    best_c100 = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"
    all_skip = "|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|skip_connect~2|"
    assert arch.arch_to_index(best_c100) == 9930
    assert arch.arch_to_index(all_skip) == 1835


@pytest.mark.parametrize(
    "text",
    [
        "",
        "|none~0|",
        "|none~0|+|none~0|none~1|",  # two nodes
        "|none~0|+|none~0|none~1|+|none~0|none~1|",  # node 3 lacks an input
        "|none~1|+|none~0|none~1|+|none~0|none~1|none~2|",  # wrong source
        "|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|",  # unknown op
        "none~0|+|none~0|none~1|+|none~0|none~1|none~2|",  # missing bar
        "|none0|+|none~0|none~1|+|none~0|none~1|none~2|",  # missing ~
    ],
)
def test_malformed_strings_are_refused(text):
    with pytest.raises(arch.ArchError):
        arch.parse_arch(text)


@pytest.mark.parametrize("index", [-1, 15625])
def test_index_out_of_range(index):
    with pytest.raises(arch.ArchError):
        arch.index_to_arch(index)
