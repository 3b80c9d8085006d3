"""One search: its settings, the bilevel loop every method shares, the unrolled α gradient,
the run directory's lifecycle, and the `run` command."""
