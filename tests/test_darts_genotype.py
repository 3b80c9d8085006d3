"""The torch-free DARTS genotype parser: papers' genotypes paste in; nothing in the text is executed."""

import pytest
from handmade_records import DARTS_V2

from spaces.darts_genotype import GenotypeError, format_genotype, parse_genotype


def test_parses_the_darts_v2_genotype_and_round_trips():
    cells = parse_genotype(DARTS_V2)
    assert cells["normal"].edges[5] == ("skip_connect", 0) and cells["normal"].concat == (2, 3, 4, 5)
    assert cells["reduce"].concat == (2, 3, 4, 5)  # written range(2, 6), as DARTS prints it
    assert cells["normal"].node_edges()[7] == (2, 5, "dil_conv_3x3")
    text = format_genotype(cells)
    assert "reduce_concat=[2, 3, 4, 5]" in text and parse_genotype(text) == cells


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "empty"),
        ("__import__('os').system('echo hi')", "looks like Genotype("),
        (DARTS_V2.replace("normal=[", "normal=__import__('os').listdir('.') or ["), "literal list"),
        (DARTS_V2.replace("'dil_conv_3x3', 2", "'conv_7x7', 2"), "unknown operation 'conv_7x7'"),
        (DARTS_V2.replace("'dil_conv_3x3', 2", "'dil_conv_3x3', 5"), "input must be 0..4"),
        (DARTS_V2.replace("('sep_conv_3x3', 0), ", "", 1), "must list 8"),
        (DARTS_V2.replace("normal_concat=[2, 3, 4, 5]", "normal_concat=[1, 2]"), "distinct intermediate nodes"),
        (DARTS_V2.replace(", reduce_concat=range(2, 6)", ""), "exactly the fields"),
        ("Genotype([], [2], [], [2])", "by name"),
        ("Genotype(normal=[", "not a genotype"),
    ],
)
def test_rejects_what_is_not_a_genotype_with_one_clear_line(text, message):
    with pytest.raises(GenotypeError, match=message.replace("(", r"\(").replace(".", r"\.")):
        parse_genotype(text)
