"""Reading the input table of ``pool`` and showing its result with rich."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from sleepmeta.errors import InputError
from sleepmeta.pooling.registry import ESTIMATOR_INFO

BCG_DEFAULTS = dict(events1="tpos", n1="n1", events2="cpos", n2="n2")


def load_table(file: Path | None, given: dict, measure, labels):
    """Read the CSV (or the shipped BCG trials) and fill the example's defaults."""
    import pandas as pd

    if file is None:
        from sleepmeta.data import bcg

        data = bcg()
        if not given:
            given, measure = dict(BCG_DEFAULTS), measure or "RR"
        labels = labels or "study"
        return data, given, measure, labels, "BCG vaccine trials (Colditz et al. 1994)"
    if not Path(file).exists():
        raise InputError(f"file {str(file)!r} does not exist")
    if not Path(file).is_file():
        raise InputError(f"file {str(file)!r} is a folder (or not a regular file), not a CSV table")
    try:
        data = pd.read_csv(file)
    except (ValueError, OverflowError, csv.Error, OSError) as exc:  # parser, encoding, empty
        text = " ".join(str(exc).split())
        raise InputError(f"file {str(file)!r} is not a readable CSV table: {text}") from None
    if measure is None and not {"yi", "vi"} <= set(given) and not {"yi", "vi"} <= set(data.columns):
        raise InputError("give --measure with its columns, or --yi and --vi "
                         "(the file has no 'yi'/'vi' columns)")
    return data, given, measure, labels, str(file)


def result_json(res) -> str:
    """The result as indented JSON with sorted keys."""
    return json.dumps(res.to_dict(), indent=2, sort_keys=True, allow_nan=False)


def summary_panel(res, title: str) -> Panel:
    """A rich panel: the coefficient table and the heterogeneity statistics."""
    import math

    table = Table(show_edge=False, header_style="bold")
    for col in ("", "estimate", "se", "zval" if res.test == "z" else "tval", "pval", "ci.lb", "ci.ub"):
        # numbers never wrap; a long term name folds onto the next line instead of "…"
        table.add_column(col, justify="right" if col else "left", no_wrap=bool(col),
                         overflow="fold", min_width=None if col else 8)
    for term, row in res.coefficients.iterrows():
        p = "<.0001" if row.pvalue < 1e-4 else f"{row.pvalue:.4f}"
        table.add_row(Text(str(term)), *(f"{x:.4f}" for x in (row.estimate, row.se, row.statistic)), p,
                      f"{row.ci_low:.4f}", f"{row.ci_high:.4f}")
    lines = [res.summary().split("\n\n")[0]]
    if ESTIMATOR_INFO[res.method].estimates_tau2:
        lines.append(f"tau² = {res.tau2:.4f} (SE {res.tau2_se:.4f}), tau = {res.tau:.4f}")
    lines.append(f"I² = {res.i2:.2f}%, H² = {res.h2:.2f}; Q({res.q_df}) = {res.q:.4f}, "
                 f"p = {res.q_pvalue:.4g}")
    if res.p == 1:
        lines.append(f"prediction interval: [{res.pi_low:.4f}, {res.pi_high:.4f}]")
        if res.is_ratio:
            lines.append(f"back-transformed: {math.exp(res.estimate):.4f} "
                         f"[{math.exp(res.ci_low):.4f}, {math.exp(res.ci_high):.4f}], "
                         f"PI [{math.exp(res.pi_low):.4f}, {math.exp(res.pi_high):.4f}]")
    else:
        lines.append(f"QM = {res.qm:.4f}, p = {res.qm_pvalue:.4g}")
    lines += [f"note: {n}" for n in res.notes]
    from rich.console import Group

    return Panel(Group(Text("\n".join(lines)), table), title=Text(title), expand=False)
