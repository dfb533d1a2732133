"""``sleepmeta pool``: effect sizes and a meta-analysis from a CSV file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from sleepmeta.cli._app import app
from sleepmeta.cli._output import console, fail_on_input_error, plain, write_text_atomic
from sleepmeta.errors import InputError
from sleepmeta.pooling.registry import ESTIMATOR_INFO, TESTS

COLUMN_ARGS = ("yi", "vi", "mean1", "sd1", "n1", "mean2", "sd2", "n2", "events1", "events2", "r",
               "n", "events")


def _column(what: str, example: str):
    """A column option of ``pool``: what the column holds, with an example."""
    return Annotated[Optional[str], typer.Option(help=f"Column with {what}, e.g. {example}.",
                                                 show_default=False)]


_YI = _column("the effect sizes (used with --vi; no --measure)", "--yi yi")
_VI = _column("their sampling variances (SE squared)", "--vi vi")
_MEAN1 = _column("the treatment group's mean (MD SMD SMDH ROM)", "--mean1 m_t")
_SD1 = _column("the treatment group's standard deviation (MD SMD SMDH ROM)", "--sd1 sd_t")
_N1 = _column("the treatment group's size (continuous and binary measures)", "--n1 n_t")
_MEAN2 = _column("the control group's mean (MD SMD SMDH ROM)", "--mean2 m_c")
_SD2 = _column("the control group's standard deviation (MD SMD SMDH ROM)", "--sd2 sd_c")
_N2 = _column("the control group's size (continuous and binary measures)", "--n2 n_c")
_EVENTS1 = _column("the events in the treatment group (RR OR RD AS PETO)", "--events1 tpos")
_EVENTS2 = _column("the events in the control group (RR OR RD AS PETO)", "--events2 cpos")
_R = _column("the correlation coefficient of each study (COR ZCOR)", "--r r")
_N = _column("the sample size of each study (COR ZCOR; PR PLN PLO PAS PFT)", "--n n")
_EVENTS = _column("the events of each study (PR PLN PLO PAS PFT)", "--events cases")


@app.command(
    epilog=(
        "Examples:\n\n"
        "  sleepmeta pool       (the shipped BCG trials: log risk ratios, REML)\n\n"
        "  sleepmeta pool trials.csv --measure SMD --mean1 m_t --sd1 sd_t --n1 n_t "
        "--mean2 m_c --sd2 sd_c --n2 n_c --labels study --method DL --test knha\n\n"
        "  sleepmeta pool effects.csv --yi yi --vi vi --mods '~ dose_mg' --forest forest.png --json\n\n"
        "  sleepmeta pool arms.csv --yi yi --vi vi --random '~ 1 | study/arm'\n\n"
        "  sleepmeta pool endpoints.csv --yi yi --vi vi --random '~ outcome | study' --struct UN "
        "--rho 0.5 --mods '~ outcome - 1'"
    )
)
@fail_on_input_error
def pool(
    file: Annotated[Optional[Path], typer.Argument(
        help="CSV file, one row per study, e.g. trials.csv. Omit to run the shipped BCG "
             "vaccine trials (Colditz et al. 1994) as log risk ratios.")] = None,
    measure: Annotated[Optional[str], typer.Option(
        help="Effect measure computed from the columns: MD SMD SMDH ROM (mean1 sd1 n1 mean2 sd2 "
             "n2); RR OR RD AS PETO (events1 n1 events2 n2); COR ZCOR (r n); PR PLN PLO PAS PFT "
             "(events n); e.g. --measure SMD. Omit when the file has --yi and --vi.")] = None,
    yi: _YI = None, vi: _VI = None, mean1: _MEAN1 = None, sd1: _SD1 = None, n1: _N1 = None,
    mean2: _MEAN2 = None, sd2: _SD2 = None, n2: _N2 = None, events1: _EVENTS1 = None,
    events2: _EVENTS2 = None, r: _R = None, n: _N = None, events: _EVENTS = None,
    labels: Annotated[Optional[str], typer.Option(
        help="Column with the study labels, e.g. --labels study.")] = None,
    method: Annotated[str, typer.Option(
        help=f"tau² estimator: {' '.join(ESTIMATOR_INFO)}, e.g. --method DL.")] = "REML",
    test: Annotated[str, typer.Option(help="; ".join(
        f"{t.name}: {t.label}" for t in TESTS.values()) + ", e.g. --test knha.")] = "z",
    level: Annotated[float, typer.Option(help="Confidence level, e.g. --level 0.9.")] = 0.95,
    mods: Annotated[Optional[str], typer.Option(
        help="Moderators as a formula on the file's columns, e.g. '~ dose_mg + C(condition)'. "
             "Allowed: column names, numbers, + - * / : ** ^, C(), I() of arithmetic, "
             "log/np.log, exp, np.sqrt, scale, center, bs/cr/cc/poly splines.")] = None,
    missing: Annotated[str, typer.Option(help="raise, or drop incomplete studies (reported), e.g. --missing drop.")] = "raise",
    forest: Annotated[Optional[Path], typer.Option(help="Write a forest plot (.png/.svg/.pdf), e.g. --forest forest.png.")] = None,
    funnel: Annotated[Optional[Path], typer.Option(help="Write a funnel plot (.png/.svg/.pdf), e.g. --funnel funnel.svg.")] = None,
    bubble: Annotated[Optional[Path], typer.Option(
        help="With --mods: write a bubble plot of the first moderator (.png/.svg/.pdf), "
             "e.g. --bubble bubble.pdf.")] = None,
    random: Annotated[Optional[str], typer.Option(
        help="Multilevel/multivariate model (metafor's rma.mv): random effects on the file's "
             "columns, e.g. --random '~ 1 | study/arm' (nested) or '~ outcome | study' (see --struct). "
             "Needs --yi and --vi (or --V).")] = None,
    struct: Annotated[str, typer.Option(
        help="With --random '~ inner | outer': CS HCS UN ID DIAG AR GEN, e.g. --struct UN.")] = "CS",
    V: Annotated[Optional[Path], typer.Option(
        "--V", help="With --random: CSV of sampling covariances, columns row1,row2,cov (rows by "
                    "--labels value or 1-based number); the diagonal is --vi; e.g. --V cov.csv.")] = None,
    rho: Annotated[Optional[float], typer.Option(
        help="With --random: correlation between estimates of the same study (the first "
             "grouping column of --random), as metafor's vcalc, e.g. --rho 0.5.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON (same field names) instead of the summary.")] = False,
    out: Annotated[Optional[Path], typer.Option(help="Also write the JSON result to this file, e.g. --out result.json.")] = None,
) -> None:
    """Pool effect sizes from a CSV file with a random- or common-effects model.

    Prints metafor-style results: the pooled estimate with its CI, the
    prediction interval, tau² with its SE, I², H² and the Q test.
    """
    from sleepmeta.cli._tables import load_table, result_json, summary_panel
    from sleepmeta.effects import effect_size
    from sleepmeta.effects.columns import resolve_labels
    from sleepmeta.pooling import meta_analysis

    given = {k: v for k, v in dict(yi=yi, vi=vi, mean1=mean1, sd1=sd1, n1=n1, mean2=mean2, sd2=sd2,
                                   n2=n2, events1=events1, events2=events2, r=r, n=n,
                                   events=events).items() if v is not None}
    data, given, measure, labels, title = load_table(file, given, measure, labels)
    if random is not None:
        from sleepmeta.cli._multilevel import pool_multilevel

        pool_multilevel(data, given, measure, labels, title, random=random, struct=struct,
                        V=V, rho=rho, mods=mods, method=method, test=test, level=level,
                        as_json=as_json, out=out)
        return
    if V is not None or rho is not None:
        raise InputError("--V and --rho need --random (a multilevel model)")

    def fit(mods_):
        if measure is not None:
            cols = {k: v for k, v in given.items() if k not in ("yi", "vi")}
            es = effect_size(measure, data, labels=labels, missing=missing, **cols)
            keep = [lab not in set(es.dropped)
                    for lab in resolve_labels(labels, data, len(data))]
            return meta_analysis(es, method=method, test=test, level=level, mods=mods_,
                                 data=data.loc[keep] if mods_ else None)
        return meta_analysis(given.get("yi", "yi"), given.get("vi", "vi"), data=data,
                             labels=labels, method=method, test=test, level=level, mods=mods_,
                             missing=missing)

    res = fit(mods)
    payload = result_json(res)
    if out is not None:
        write_text_atomic(out, payload)
    notes = []
    if forest is not None or funnel is not None or bubble is not None:
        from sleepmeta.plots import bubble_plot, forest_plot, funnel_plot, save_figure

        # forest and funnel plots show the studies around the model without moderators
        base = fit(None) if mods else res
        if mods and (forest is not None or funnel is not None):
            notes.append("the forest and funnel plots show the model without moderators")
        if forest is not None:
            save_figure(forest_plot(base), forest)
        if funnel is not None:
            save_figure(funnel_plot(base), funnel)
        if bubble is not None:
            if not mods:
                raise InputError("--bubble needs --mods (a bubble plot shows a moderator)")
            save_figure(bubble_plot(res, res.terms[1] if res.intercept else res.terms[0]), bubble)
    if as_json:
        typer.echo(payload)
        return
    console.print(summary_panel(res, title))
    for path in (forest, funnel, bubble, out):
        if path is not None:
            plain(f"wrote {path}")
    for note in notes:
        plain(f"note: {note}")


__all__ = ["pool"]
