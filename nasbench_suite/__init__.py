"""nasbench-suite: differentiable NAS methods compared on equal terms.

Kept import-light: commands that need no network (lookup, leaderboard) never import torch.
"""

__version__ = "0.1.0"
