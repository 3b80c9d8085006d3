"""Sweeps: a grid of runs (methods x seeds x spaces ...) shared by many workers and machines
through one Optuna storage, each cell run exactly once."""
