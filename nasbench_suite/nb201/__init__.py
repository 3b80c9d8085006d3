"""The NAS-Bench-201 table: the compact table and its columns, the official files' import
(with its resumable scratch), and the `lookup` and `benchmark import` commands. No torch at
import time: `lookup` answers without it."""
