"""One module per NAS method, each registered in methods.base.METHODS when imported.

Kept empty so that importing methods.base (the contract) never pulls in torch;
nasbench_suite.registry imports every method module.
"""
