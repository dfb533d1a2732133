"""The layout of the kernels' per-analysis vector workspace ``vec``.

Rows of ``vec`` (length ``>= max(n, VW)``): weights, residuals, scratch,
ones, yi, yi centred on their mean, vi, and the sums of the last fit (see
:mod:`.tau2`).

Examples
--------
>>> NVEC, SUM
(8, 7)
"""

W, E, TMP, ONE, Y, YC, V, SUM = range(8)  # rows of the vector workspace
NVEC = 8
VW = 16  # least width of the vector workspace (the sums of row SUM)
