"""Trial contrasts: nights -> participants -> treatment-minus-control."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sleepmeta import distributions as stats
from sleepmeta.errors import ColumnError, DesignError, InputError, unknown_option
from sleepmeta.trials import estimators as est

#: Columns of the frame :func:`contrast` returns, in order.
COLUMNS = (
    "study", "endpoint", "design", "method", "treatment", "control",
    "n1", "mean1", "sd1", "n2", "mean2", "sd2", "md", "se", "df", "ci_low", "ci_high",
    "smd", "smd_se", "yi", "vi", "nights_omitted", "simulated",
)
_METHODS = {
    "parallel": ("welch", "pooled", "ancova", "change"),
    "crossover": ("paired", "senn"),
}
_CONTROL_NAMES = {"placebo", "control", "pbo", "sham", "vehicle", "usual care"}


def contrast(
    nights: pd.DataFrame,
    endpoint,
    *,
    arm: str = "arm",
    subject: str = "subject",
    design: str = "parallel",
    period: str | None = None,
    baseline: str | None = None,
    treatment=None,
    control=None,
    method: str | None = None,
    study: str | None = None,
    label: str | None = None,
    missing: str = "raise",
    level: float = 0.95,
) -> pd.DataFrame:
    """Treatment-minus-control contrast of sleep endpoints in one or more trials.

    Nights are first averaged within participant (and within period for a
    crossover, and separately for baseline and on-treatment nights); the
    participants' means are then compared.

    Parameters
    ----------
    nights : pandas.DataFrame
        One row per night (e.g. :func:`~sleepmeta.sleep.night_table` with
        ``subject`` and ``arm`` columns added); one row per participant works
        too.
    endpoint : str or list of str
        Numeric column(s) to contrast, e.g. ``"WASO"`` or ``["TST", "SOL"]``.
    arm, subject : str
        Columns naming the arm and the participant.
    design : {"parallel", "crossover"}
    period : str, optional
        Crossover only: column of the period (exactly two values; the
        smaller, in sort order, is period 1). Given, the AB/BA analysis
        adjusts for the period effect (``method="senn"``).
    baseline : str, optional
        Parallel only: a boolean column marking baseline (pre-treatment)
        nights. Given, the analysis is ANCOVA on the participants' baseline
        means (``method="ancova"``) or, with ``method="change"``, Welch's
        test on change from baseline.
    treatment, control : optional
        Values of ``arm`` for the two arms. Give either; when neither is
        given, an arm named placebo, control, pbo, sham, vehicle or usual
        care is the control.
    method : str, optional
        ``"welch"`` (default, parallel) or ``"pooled"``; ``"paired"``
        (default, crossover) or ``"senn"`` (default when ``period`` is
        given); ``"ancova"`` (default with ``baseline``) or ``"change"``.
    study : str, optional
        Column naming the trial; one contrast per trial and endpoint.
    label : str, optional
        Study label when ``study`` is not given (default ``"trial"``, or
        ``"simulated trial"`` for simulated nights).
    missing : {"raise", "omit"}
        A night without a value of the endpoint (NaN: e.g. ``Lat_REM`` on a
        night without REM, NaN as in YASA) raises by default; ``"omit"``
        leaves those nights out and counts them in ``nights_omitted``.
    level : float, default 0.95
        Confidence level of ``ci_low``, ``ci_high`` (t distribution, ``df``).

    Returns
    -------
    pandas.DataFrame
        One row per study and endpoint with :data:`COLUMNS`. Group 1 is
        the treatment arm: ``n1, mean1, sd1`` are its participants' number,
        mean and SD (for ANCOVA, of the on-treatment values; for
        ``"change"``, of the changes), ``md`` the treatment-minus-control
        mean difference with ``se``, ``df`` and CI; ``yi = md`` and ``vi =
        se**2`` (so the frame is ready for a meta-analysis of MDs);
        ``smd``/``smd_se`` Hedges' g as metafor (``SMD`` for parallel
        trials, standardised by the pooled SD of the reported arms; ``SMCRP``
        for crossover trials, NaN when the within-participant correlation
        is undefined, e.g. an arm with a constant value).

    Raises
    ------
    DesignError
        A participant in both arms of a parallel trial, a crossover
        participant missing an arm or a period, an arm with fewer than two
        participants, an arm column without exactly two values.

    Examples
    --------
    >>> nights = pd.DataFrame({
    ...     "subject": ["a", "a", "b", "c", "d"],
    ...     "arm": ["drug", "drug", "drug", "placebo", "placebo"],
    ...     "WASO": [20.0, 30.0, 35.0, 50.0, 40.0]})
    >>> contrast(nights, "WASO").loc[0, ["mean1", "mean2", "md", "n1"]].tolist()
    [30.0, 45.0, -15.0, 2.0]
    """
    if design not in _METHODS:
        raise unknown_option("design", design, list(_METHODS))
    method = _check_method(design, method, period, baseline)
    frame, endpoints = _check_frame(nights, endpoint, arm, subject, period, baseline, study)
    if missing not in ("raise", "omit"):
        raise unknown_option("missing", missing, ["raise", "omit"])
    if not (0 < level < 1):
        raise InputError(f"level must be in (0, 1), got {level!r}")
    treat, ctrl = _arms(frame[arm], treatment, control, arm)
    simulated_all = bool(nights.attrs.get("simulated", False))
    if label is None:
        label = "simulated trial" if simulated_all or _is_simulated(frame) else "trial"
    groups = frame.groupby(study, sort=False) if study else [(label, frame)]
    rows = []
    for name, trial in groups:
        where = f"study {name!r}"
        for ep in endpoints:
            data, omitted = _drop_missing(trial, ep, subject, missing, where)
            if design == "parallel":
                row = _parallel(data, ep, arm, subject, baseline, treat, ctrl, method, where)
            else:
                row = _crossover(data, ep, arm, subject, period, treat, ctrl, method, where)
            q = stats.t.ppf(0.5 + level / 2, row["df"])
            _check_finite(row, q, ep, where)
            row.update(
                study=name, endpoint=ep, design=design, method=method,
                treatment=treat, control=ctrl,
                ci_low=row["md"] - q * row["se"], ci_high=row["md"] + q * row["se"],
                yi=row["md"], vi=row["se"] ** 2, nights_omitted=omitted,
                simulated=simulated_all or _is_simulated(trial),
            )
            rows.append(row)
    out = pd.DataFrame(rows, columns=list(COLUMNS))
    out["n1"], out["n2"] = out["n1"].astype(int), out["n2"].astype(int)
    out.attrs["level"] = level
    return out


def _check_finite(row: dict, q: float, ep: str, where: str) -> None:
    """A contrast whose MD, SE, df or CI limits overflow float64 is an error, not inf."""
    values = (row["md"], row["se"], row["df"], q * row["se"], row["se"] ** 2)
    if not all(np.isfinite(v) for v in values):
        raise InputError(f"{where}, endpoint {ep!r}: the values are too large for the contrast "
                         "(its mean difference, SE or CI overflows float64); rescale the endpoint")


def _check_frame(nights, endpoint, arm, subject, period, baseline, study):
    """Validate the public arguments naming columns of ``nights``."""
    if not isinstance(nights, pd.DataFrame):
        raise InputError(f"nights must be a pandas DataFrame, got {type(nights).__name__}")
    if len(nights) == 0:
        raise InputError("nights is empty: no rows to contrast")
    endpoints = [endpoint] if isinstance(endpoint, str) else list(endpoint)
    if not endpoints:
        raise InputError("endpoint: give at least one column name")
    needed = {"endpoint": endpoints, "arm": [arm], "subject": [subject]}
    for key, col in (("period", period), ("baseline", baseline), ("study", study)):
        if col is not None:
            needed[key] = [col]
    for key, cols in needed.items():
        for col in cols:
            if col not in nights.columns:
                raise ColumnError(
                    f"{key} column {col!r} is not in nights; columns: {', '.join(map(str, nights.columns))}"
                )
    for ep in endpoints:
        if not pd.api.types.is_numeric_dtype(nights[ep]) or pd.api.types.is_bool_dtype(nights[ep]):
            raise InputError(f"endpoint {ep!r} must be a numeric column, got dtype {nights[ep].dtype}")
    for key, col in (("arm", arm), ("subject", subject), ("period", period), ("study", study)):
        if col is not None and nights[col].isna().any():
            night = nights.index[nights[col].isna().to_numpy()][0]
            raise InputError(f"night {_py(night)!r}: {key} column {col!r} is missing (NaN)")
    if baseline is not None:
        values = set(pd.unique(nights[baseline]))
        if not values <= {True, False}:
            raise InputError(
                f"baseline column {baseline!r} must be True/False (True = baseline night), "
                f"got values {sorted(map(str, values))}"
            )
    return nights, endpoints


def _check_method(design, method, period, baseline):
    if period is not None and design != "crossover":
        raise DesignError("period is for crossover designs; use design='crossover'")
    if baseline is not None and design != "parallel":
        raise DesignError("baseline adjustment is supported for parallel designs only")
    if method is None:
        if design == "crossover":
            return "senn" if period is not None else "paired"
        return "ancova" if baseline is not None else "welch"
    if method not in _METHODS[design]:
        raise unknown_option(f"method for a {design} design", method, _METHODS[design])
    if method == "senn" and period is None:
        raise DesignError("method 'senn' needs period= (the period column)")
    if method == "paired" and period is not None:
        raise DesignError("method 'paired' ignores the period; drop period= or use method='senn'")
    if method in ("ancova", "change") and baseline is None:
        raise DesignError(f"method {method!r} needs baseline= (the baseline-night column)")
    if method in ("welch", "pooled") and baseline is not None:
        raise DesignError(f"method {method!r} ignores the baseline; use 'ancova' or 'change'")
    return method


def _arms(column: pd.Series, treatment, control, arm: str):
    """The treatment and control values of the arm column (exactly two)."""
    values = list(pd.unique(column))
    if len(values) != 2:
        raise DesignError(
            f"arm column {arm!r} must have exactly two values (treatment and control), "
            f"got {len(values)}: {', '.join(map(repr, values))}"
        )
    for name, given in (("treatment", treatment), ("control", control)):
        if given is not None and given not in values:
            raise DesignError(f"{name} {given!r} is not a value of arm column {arm!r}: {values}")
    if treatment is not None and control is not None:
        if treatment == control:
            raise DesignError(f"treatment and control are both {treatment!r}")
        return treatment, control
    if treatment is not None:
        return treatment, next(v for v in values if v != treatment)
    if control is not None:
        return next(v for v in values if v != control), control
    named = [v for v in values if str(v).strip().lower() in _CONTROL_NAMES]
    if len(named) != 1:
        raise DesignError(
            f"cannot tell the treatment arm from the control in arm column {arm!r} "
            f"({values[0]!r}, {values[1]!r}); pass treatment= (and/or control=)"
        )
    return next(v for v in values if v != named[0]), named[0]


def _is_simulated(frame: pd.DataFrame) -> bool:
    return "simulated" in frame.columns and bool(frame["simulated"].astype(bool).any())


def _drop_missing(trial, ep, subject, missing, where):
    bad = trial[ep].isna().to_numpy()
    if not bad.any():
        return trial, 0
    if missing == "raise":
        night = trial.index[bad][0]
        who = trial[subject].to_numpy()[bad][0]
        raise InputError(
            f"{where}, participant {_py(who)!r}, night {_py(night)!r}: endpoint {ep!r} has no value (NaN) "
            f"on {int(bad.sum())} night(s); pass missing='omit' to leave them out"
        )
    return trial.loc[~bad], int(bad.sum())


def _py(value):
    """A numpy scalar as the Python value, so messages read ``2`` not ``np.int64(2)``."""
    return value.item() if isinstance(value, np.generic) else value


def _check_n(n: int, arm_value, where: str, need: int = 2) -> None:
    if n < need:
        raise DesignError(
            f"{where}: arm {arm_value!r} has {n} participant(s) with data; need at least {need}"
        )


def _summaries(x1, x2) -> dict:
    return {"n1": x1.size, "mean1": float(x1.mean()), "sd1": float(x1.std(ddof=1)),
            "n2": x2.size, "mean2": float(x2.mean()), "sd2": float(x2.std(ddof=1))}


def _parallel(data, ep, arm, subject, baseline, treat, ctrl, method, where) -> dict:
    arms_per = data.groupby(subject, sort=False)[arm].unique()
    both = arms_per[arms_per.map(len) > 1]
    if len(both):
        raise DesignError(
            f"{where}: participant {_py(both.index[0])!r} is in both arms "
            f"({', '.join(map(repr, both.iloc[0]))}) of a parallel trial"
        )
    if baseline is None:
        means = data.groupby([arm, subject], sort=False)[ep].mean()
        x1 = means.loc[treat].to_numpy() if treat in means.index.get_level_values(0) else np.array([])
        x2 = means.loc[ctrl].to_numpy() if ctrl in means.index.get_level_values(0) else np.array([])
        _check_n(x1.size, treat, where)
        _check_n(x2.size, ctrl, where)
        row = _summaries(x1, x2)
        row.update((est.welch if method == "welch" else est.pooled)(x1, x2))
    else:
        is_base = data[baseline].astype(bool)
        post = data.loc[~is_base].groupby(subject, sort=False)[ep].mean()
        pre = data.loc[is_base].groupby(subject, sort=False)[ep].mean()
        for who in data[subject].unique():
            for kind, table in (("baseline", pre), ("on-treatment", post)):
                if who not in table.index:
                    raise DesignError(f"{where}: participant {_py(who)!r} has no {kind} night for {ep!r}")
        group = data.groupby(subject, sort=False)[arm].first()
        treated = (group.loc[post.index] == treat).to_numpy()
        y, x = post.to_numpy(), pre.loc[post.index].to_numpy()
        _check_n(int(treated.sum()), treat, where)
        _check_n(int((~treated).sum()), ctrl, where)
        if method == "ancova":
            if y.size < 4:
                raise DesignError(f"{where}: ANCOVA needs at least 4 participants, got {y.size}")
            row = _summaries(y[treated], y[~treated])
            row.update(est.ancova(y, treated, x))
        else:
            change = y - x
            row = _summaries(change[treated], change[~treated])
            row.update(est.welch(change[treated], change[~treated]))
    row["smd"], v = est.hedges_g(row["md"], row["sd1"], row["sd2"], row["n1"], row["n2"])
    row["smd_se"] = float(np.sqrt(v))
    return row


def _crossover(data, ep, arm, subject, period, treat, ctrl, method, where) -> dict:
    if period is None:
        wide = data.groupby([subject, arm], sort=False)[ep].mean().unstack(arm)
        for value in (treat, ctrl):
            lacking = wide.index[wide[value].isna()] if value in wide else wide.index
            if len(lacking):
                raise DesignError(
                    f"{where}: crossover participant {_py(lacking[0])!r} has no {value!r} nights "
                    "(missing a period)"
                )
        t, c = wide[treat].to_numpy(), wide[ctrl].to_numpy()
        if t.size < 2:
            raise DesignError(f"{where}: a crossover needs at least 2 participants, got {t.size}")
        row = _summaries(t, c)
        row.update(est.paired(t, c))
    else:
        periods = sorted(_py(v) for v in pd.unique(data[period]))
        if len(periods) != 2:
            raise DesignError(f"{where}: period column {period!r} must have exactly two values, got {periods}")
        cell_arms = data.groupby([subject, period], sort=False)[arm].unique()
        mixed = cell_arms[cell_arms.map(len) > 1]
        if len(mixed):
            who, per = mixed.index[0]
            raise DesignError(f"{where}: participant {_py(who)!r} has both arms in period {_py(per)!r}")
        means = data.groupby([subject, period], sort=False)[ep].mean().unstack(period)
        arms = cell_arms.map(lambda a: a[0]).unstack(period)
        for per in periods:
            lacking = means.index[means[per].isna()]
            if len(lacking):
                raise DesignError(
                    f"{where}: crossover participant {_py(lacking[0])!r} is missing period {per!r}"
                )
        same = arms.index[(arms[periods[0]] == arms[periods[1]]).to_numpy()]
        if len(same):
            raise DesignError(f"{where}: participant {_py(same[0])!r} has arm {arms.loc[same[0], periods[0]]!r} in both periods")
        first_t = (arms[periods[0]] == treat).to_numpy()
        y1, y2 = means[periods[0]].to_numpy(), means[periods[1]].to_numpy()
        t, c = np.where(first_t, y1, y2), np.where(first_t, y2, y1)
        _check_n(int(first_t.sum()), f"{treat} first", where, need=1)
        _check_n(int((~first_t).sum()), f"{ctrl} first", where, need=1)
        if t.size < 3:
            raise DesignError(f"{where}: the AB/BA analysis needs at least 3 participants, got {t.size}")
        row = _summaries(t, c)
        row.update(est.senn((y1 - y2)[first_t], (y1 - y2)[~first_t]))
    # SMCRP needs the within-participant correlation; undefined (a constant arm,
    # or |r| = 1 with 2 participants) leaves smd and smd_se NaN, as documented
    with np.errstate(invalid="ignore", divide="ignore"):
        r = float(np.corrcoef(t, c)[0, 1]) if t.size > 2 else np.nan
        row["smd"], v = est.smcrp(row["md"], row["sd1"], row["sd2"], t.size, r)
    row["smd_se"] = float(np.sqrt(v))
    return row
