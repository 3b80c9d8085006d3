"""Tuning the regulariser weights with Optuna: the searched dimensions, the objectives, the
shared storage, the worker processes, the report, and the `tune` command."""
