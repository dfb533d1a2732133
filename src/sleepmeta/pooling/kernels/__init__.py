"""Compiled (numba) kernels of the one pooling engine.

:mod:`.wls` (weighted least squares and traces of one analysis),
:mod:`.tau2` (the tau² estimators of one analysis) and :mod:`.batch`
(drivers over a batch, in parallel). Compiled code is cached on disk
(``cache=True``), so a new process loads it instead of compiling.
"""
