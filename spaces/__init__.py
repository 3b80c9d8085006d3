"""One module per search space, each registered in spaces.base.SPACES when imported.

Kept empty so that the torch-free text formats (spaces.nb201_arch) import without torch;
nasbench_suite.registry imports every space module.
"""
