"""``sleepmeta pool --random ...``: the multilevel branch of the pool command (no computation)."""

from __future__ import annotations

from pathlib import Path

import typer

from sleepmeta.cli._output import console, write_text_atomic
from sleepmeta.errors import InputError


def pool_multilevel(data, given, measure, labels, title, *, random, struct, V, rho, mods,
                    method, test, level, as_json, out) -> None:
    """Fit ``meta_analysis_mv`` on the table and print or write its result."""
    import pandas as pd

    from sleepmeta.cli._tables import result_json
    from sleepmeta.pooling.multilevel import (correlated_outcomes_vcov, meta_analysis_mv,
                                              vcov_from_long)
    from sleepmeta.pooling.multilevel.random import parse_random_list

    if measure is not None:
        raise InputError("--random works on --yi/--vi columns; compute the effect sizes first "
                         "(sleepmeta.effect_size) and pass them with --yi and --vi")
    if V is not None and rho is not None:
        raise InputError("give --V or --rho, not both")
    if method not in ("REML", "ML"):
        raise InputError(f"--random models are fitted by REML or ML, got --method {method}")
    test = {"knha": "t"}.get(test, test)
    yi_col, vi_col = given.get("yi", "yi"), given.get("vi", "vi")
    for col in (yi_col, vi_col):
        if col not in data.columns:
            raise InputError(f"column {col!r} is not in the file")
    labs = [str(x) for x in (data[labels] if labels else range(1, len(data) + 1))]
    vi = pd.to_numeric(data[vi_col], errors="coerce").to_numpy(float)
    cov = vi_col
    if V is not None:
        if not Path(V).exists():
            raise InputError(f"--V file {str(V)!r} does not exist")
        cov = vcov_from_long(pd.read_csv(V), labs, vi)
    elif rho is not None:
        cluster = parse_random_list(random)[0].outer[0]
        if cluster not in data.columns:
            raise InputError(f"--rho: column {cluster!r} (from --random) is not in the file")
        cov = correlated_outcomes_vcov(vi, data[cluster].to_numpy(), rho=rho, labels=labs)
    res = meta_analysis_mv(yi_col, cov, random=random, struct=struct, mods=mods, data=data,
                           method=method, test=test, level=level,
                           labels=labels if labels else None)
    payload = result_json(res)
    if out is not None:
        write_text_atomic(out, payload)
    if as_json:
        typer.echo(payload)
        return
    console.print(f"[bold]{title}[/bold]")
    console.print(res.summary(), markup=False, highlight=False)
    if out is not None:
        console.print(f"wrote {out}")
