"""BCG vaccine trials (Colditz et al. 1994) as log risk ratios, computed by hand.

yi = log((a/(a+b)) / (c/(c+d))), vi = 1/a - 1/(a+b) + 1/c - 1/(c+d)
(the large-sample variance of a log risk ratio; metafor's escalc "RR").
"""

from __future__ import annotations

from importlib import resources

import numpy as np
import pandas as pd


def bcg_frame() -> pd.DataFrame:
    with resources.files("sleepmeta.data").joinpath("bcg.csv").open() as fh:
        d = pd.read_csv(fh)
    a, b, c, dd = (d[x].to_numpy(float) for x in ("tpos", "tneg", "cpos", "cneg"))
    d["yi"] = np.log((a / (a + b)) / (c / (c + dd)))
    d["vi"] = 1 / a - 1 / (a + b) + 1 / c - 1 / (c + dd)
    d["label"] = d["author"] + " " + d["year"].astype(str)
    return d


def bcg_yi_vi():
    d = bcg_frame()
    return d["yi"].to_numpy(), d["vi"].to_numpy()
