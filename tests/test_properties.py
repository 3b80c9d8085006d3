"""Property-based tests of the text formats: every valid cell round-trips, nothing else parses."""

from hypothesis import given, settings
from hypothesis import strategies as st

from spaces import genotypes as g
from spaces import nb201_arch as arch

cells = st.tuples(*[st.sampled_from(arch.OPS)] * len(arch.EDGES))


@given(cells)
def test_every_cell_round_trips_through_its_string_and_index(ops):
    text = arch.format_arch(ops)
    assert arch.parse_arch(text) == ops
    assert arch.index_to_arch(arch.arch_to_index(text)) == text
    assert arch.canonical("  " + text + "\n") == text


@given(cells, st.integers(0, 200), st.characters(blacklist_categories=("Cs",)))
def test_a_damaged_string_is_refused_or_still_a_valid_cell(ops, position, char):
    text = arch.format_arch(ops)
    damaged = text[: position % (len(text) + 1)] + char + text[position % (len(text) + 1):]
    try:
        parsed = arch.parse_arch(damaged)
    except arch.ArchError:
        return
    assert arch.format_arch(parsed) == damaged.strip()  # only whitespace may be added around


@settings(max_examples=300)
@given(st.text(max_size=120))
def test_arbitrary_text_never_crashes_the_parser(text):
    try:
        ops = arch.parse_arch(text)
    except arch.ArchError:
        return
    assert len(ops) == len(arch.EDGES) and set(ops) <= set(arch.OPS)


# ---- DARTS genotype texts -------------------------------------------------------------------

darts_ops = st.sampled_from([op for op in g.OPS if op != "none"])


def darts_cell():
    pairs = st.tuples(*[st.tuples(darts_ops, st.integers(0, node - 1)) for node in g.NODES for _ in range(2)])
    return pairs, st.lists(st.sampled_from(g.NODES), min_size=1, max_size=4, unique=True).map(tuple)


normal, normal_concat = darts_cell()
reduce, reduce_concat = darts_cell()
darts_genotypes = st.builds(g.Genotype, normal=normal, normal_concat=normal_concat, reduce=reduce, reduce_concat=reduce_concat)


@given(darts_genotypes)
def test_every_darts_genotype_round_trips_through_its_text(genotype):
    text = g.format_genotype(genotype)
    assert g.parse_genotype(text) == genotype
    assert g.parse_genotype(text.replace(", ", ",\n    ")) == genotype  # pasted over several lines


@given(darts_genotypes, st.integers(0, 2000), st.characters(blacklist_categories=("Cs",)))
def test_a_damaged_darts_genotype_is_refused_or_still_valid(genotype, position, char):
    text = g.format_genotype(genotype)
    at = position % (len(text) + 1)
    try:
        parsed = g.parse_genotype(text[:at] + char + text[at:])
    except g.GenotypeError:
        return
    assert isinstance(parsed, g.Genotype)


@settings(max_examples=300)
@given(st.text(alphabet=st.sampled_from(list("Genotype(normal=[('sep_conv_3x3', 0)], range(2, 6)_concat)\n \"") ), max_size=150))
def test_arbitrary_genotype_like_text_never_crashes_the_parser(text):
    try:
        parsed = g.parse_genotype(text)
    except g.GenotypeError:
        return
    assert isinstance(parsed, g.Genotype)
