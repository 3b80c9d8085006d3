"""Leaderboards: collecting finished runs, standings, tables, plots, cell drawings and the
published rows they are compared with."""
