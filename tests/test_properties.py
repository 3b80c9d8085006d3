"""Property-based tests of the text formats: every valid cell round-trips, nothing else parses."""

from hypothesis import given, settings
from hypothesis import strategies as st

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
