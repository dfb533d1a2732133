"""Build the report: analyse, write ``report.json`` and a self-contained ``report.html``.

The report is built in a temporary folder beside the output folder and
moved into place only when complete, so a failed run leaves a previous
report untouched (see :mod:`sleepmeta.outputs`: the old and the new folder
are exchanged atomically on Linux; a run killed elsewhere between its two
renames leaves the previous report in ``.NAME.old-PID``, which the next run
puts back). ``--out`` must be a report folder (or not exist yet): a file or
a folder holding other things is refused, not replaced. Images are PNGs embedded as base64 data URIs; the HTML is
rendered by jinja2 with autoescaping on (a study named
``<script>alert(1)</script>`` appears as text).
"""

from __future__ import annotations

import base64
import io
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

__all__ = ["BuildResult", "build_report", "default_spec_path", "render_html"]

FORMATS = ("html", "json")


def default_spec_path() -> Path:
    """The bundled review spec (pregabalin and sleep)."""
    from sleepmeta.data import data_path

    return data_path("pregabalin_review.toml")


@dataclass(frozen=True)
class BuildResult:
    """Where the report was written and what it holds."""

    out_dir: Path
    files: tuple
    payload: dict

    @property
    def main_file(self) -> Path:
        """The file to open: report.html, or report.json for ``format="json"``."""
        return self.files[0]


#: Resolution of the report's figures (they are laid out in inches for it).
DPI = 100
#: How the report's figures draw text: unhinted glyphs (see :func:`_png`).
HINTING = {"text.hinting": "no_hinting"}


def _png(fig, metrics: dict | None = None) -> str:
    """The figure as a PNG data URI, drawn once (its layout is fixed when it is built).

    ``metrics`` is a table of text measurements shared by the figures of one report
    (:class:`sleepmeta.plots.shared_metrics.SharedMetricsCanvas`: the same pixels, each
    distinct text measured once); by default the figure's text is measured afresh.

    The pixels are the ones ``fig.savefig(format="png", dpi=DPI)`` writes with
    ``text.hinting`` set to ``"no_hinting"``: glyphs keep their outlines' widths, so a
    drawn text stays close to the width the layout measured for it (``plots._style.text_width``,
    within 4%; hinted glyphs at 100 dpi came out 9% wider and ran the forest plot's column
    headers into each other), and drawing the figures takes a fifth less time. An opaque figure (all of
    the report's) is stored as RGB at zlib level 3 rather than RGBA at level 6: a tenth
    smaller, and half the time to encode. Pillow reads the canvas's buffer in place and
    drops the alpha channel itself (no strided copy of the pixels in NumPy first); zlib
    levels 1 to 3 encode these figures equally fast, and 3 gives the smallest files.
    """
    import matplotlib
    import numpy as np
    from PIL import Image

    from sleepmeta.plots.shared_metrics import SharedMetricsCanvas

    if fig.dpi != DPI:
        fig.set_dpi(DPI)
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            _drawn_ticks_only(axis)
    canvas = SharedMetricsCanvas(fig, {} if metrics is None else metrics)
    with matplotlib.rc_context(HINTING):
        canvas.draw()
    rgba = np.asarray(canvas.buffer_rgba())
    height, width = rgba.shape[:2]
    image = Image.frombuffer("RGBA", (width, height), rgba, "raw", "RGBA", 0, 1)
    if (rgba[..., 3] == 255).all():
        image = image.convert("RGB")
    buf = io.BytesIO()
    image.save(buf, format="png", compress_level=3, dpi=(DPI, DPI))
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _drawn_ticks_only(axis) -> None:
    """Fix ``axis``'s major ticks to the ones drawn, with the labels matplotlib gives them.

    An automatic locator also places ticks beyond the view limits, and matplotlib makes a
    tick (two lines, two texts, a grid line) for each before leaving it undrawn. The
    figure's limits are final here, so its drawn ticks are fixed instead: the labels are
    formatted as matplotlib formats them at draw time (all locations at once), and kept
    for the locations inside the limits (matplotlib's own test, in the scale's
    coordinates). An axis whose formatter shows an offset ("1e3") is left as it is.
    """
    import numpy as np

    locs = np.asarray(axis.get_majorticklocs(), float)
    if locs.size == 0:
        return
    formatter = axis.get_major_formatter()
    labels = formatter.format_ticks(locs)
    if formatter.get_offset():
        return
    lo, hi = axis.get_transform().transform(np.sort(axis.get_view_interval()))
    at = axis.get_transform().transform(locs)
    tol = 1e-10 * abs(hi - lo)
    keep = (at >= lo - tol) & (at <= hi + tol)
    if keep.all():
        return
    axis.set_ticks(locs[keep], [lab for lab, k in zip(labels, keep) if k])


def _arm_text(row, measure: str, arm: str) -> str:
    """RevMan's per-arm column: events/total (binary) or mean (SD) n (continuous)."""
    from sleepmeta.review.display import count, num

    if measure == "RR":
        e, n = ("ai", "n1i") if arm == "treat" else ("ci", "n2i")
        return f"{count(row.get(e))}/{count(row.get(n))}"
    mean, sd, n = (row.get(f"{c}_{arm}") for c in ("mean", "sd", "n"))
    if mean is None or pd.isna(mean):
        return "—" if n is None or pd.isna(n) else f"n = {count(n)}"
    return f"{num(mean)} ({num(sd)}) {count(n)}"


def _forest_inputs(a, drug: str, comp: str) -> dict:
    """Labels shown, per-arm columns and the axis label (with the unit) of an outcome's forest."""
    from sleepmeta.review.display import dose_text, unit_text
    from sleepmeta.review.fitting import comparison_labels

    measure = a.outcome.measure
    names = comparison_labels(a.pooled_rows, dose_text=dose_text)
    shown = dict(zip(a.effects[2], names))
    rows = [r.to_dict() for _, r in a.pooled_rows.iterrows()]
    arms = {name: (_arm_text(row, measure, "treat"), _arm_text(row, measure, "ctrl"))
            for name, row in zip(names, rows)}
    heads = ("n/N", "n/N") if measure == "RR" else ("mean (SD) n", "mean (SD) n")
    unit = unit_text(a.outcome.unit)
    xlabel = None if measure == "RR" else (
        f"Mean difference, {drug} minus {comp}" + (f" ({unit})" if unit else ""))
    return {"labels": shown, "arms": arms, "xlabel": xlabel,
            "arm_headers": (f"{drug[:1].upper()}{drug[1:]} {heads[0]}",
                            f"{comp[:1].upper()}{comp[1:]} {heads[1]}")}


def _figures(ra, payload: dict, progress=None) -> dict:
    """Forest plot per outcome with a pooled result; dose-response plot per harm."""
    from sleepmeta.plots import forest_plot
    from sleepmeta.plots.dose_response import dose_response_plot

    drug, comp = ra.spec.drug, ra.spec.comparator
    figs: dict = {}
    metrics: dict = {}  # text measurements shared by the figures (see _png)
    for key, a in ra.outcomes.items():
        if a.result is None:
            continue
        if progress:
            progress(f"plots: {key}")
        lower = a.outcome.better == "lower"
        sub = a.subgroups.get("condition") or a.subgroups.get("dose")
        inputs = _forest_inputs(a, drug, comp)
        fig = forest_plot(sub if sub is not None else a.result,
                          favours=(f"Favours {drug}", f"Favours {comp}"),
                          lower_is_better=lower, title=a.outcome.label,
                          rob=_rob_labels(ra, a, inputs["labels"]), **inputs)
        figs[f"forest:{key}"] = _png(fig, metrics)
    for key, a in ra.outcomes.items():  # every harm with arms at a dose, pooled or not
        arms = pd.DataFrame(payload["outcomes"][key]["harms_by_dose"])
        if a.outcome.measure == "RR" and len(arms) and arms["dose_min"].notna().any():
            figs[f"dose:{key}"] = _png(dose_response_plot(
                arms, title=f"{a.outcome.label}: risk by daily dose"), metrics)
    for key, a in ra.outcomes.items():  # pooled dose curves ([dose_response])
        curve = a.dose_curve
        if curve is not None and curve.result is not None:
            label = a.outcome.label + (" (published pooled table)"
                                       if curve.arms["published_summary"].any() else "")
            figs[f"curve:{key}"] = _png(curve.result.plot(
                reference=ra.spec.dose_response.reference, title=label), metrics)
    figs.update(_rob_figures(ra, metrics))
    return figs


def _rob_labels(ra, a, shown: dict) -> dict:
    """Forest-plot label (as shown) -> overall RoB judgement of that pooled row."""
    if ra.rob is None:
        return {}
    col = a.outcome.column
    return {shown.get(lab, lab): ra.rob.judgement(str(s), "overall", str(o))
            for lab, s, o in zip(a.effects[2], a.pooled_rows["study_id"], a.pooled_rows[col])}


def _rob_figures(ra, metrics: dict) -> dict:
    """Traffic-light plot and summary plots (unweighted; weighted by meta-analysis weight)."""
    if ra.rob is None or ra.rob.table.empty:
        return {}
    import numpy as np

    from sleepmeta.plots.rob import rob_summary_plot, traffic_light_plot

    t = ra.rob.table
    figs = {"rob:traffic": _png(traffic_light_plot(t, title="Risk of bias (RoB 2)"), metrics),
            "rob:summary": _png(rob_summary_plot(t, title="Risk of bias: share of studies"),
                                metrics)}
    weight = {}
    for a in ra.outcomes.values():
        if a.result is not None:
            for s, w in zip(a.pooled_rows["study_id"], a.result.weights):
                weight[str(s)] = weight.get(str(s), 0.0) + float(w)
    per_row = [0.0 if o else weight.get(s, 0.0) for s, o in zip(t["study_id"], t["outcome"])]
    if np.sum(per_row) > 0:
        figs["rob:weighted"] = _png(rob_summary_plot(
            t, weights=per_row, title="Risk of bias: share of meta-analysis weight"), metrics)
    return figs


def _dependence_table(text: str) -> dict:
    """Split a markdown file into prose and its first pipe table (rows of cells)."""
    lines = text.splitlines()
    table = [ln for ln in lines if ln.startswith("|")]
    rows = [[c.strip() for c in ln.strip().strip("|").split("|")] for ln in table
            if not set(ln.replace("|", "").strip()) <= set("-: ")]
    prose = [ln for ln in lines if not ln.startswith("|") and ln.strip()
             and not ln.startswith("#")]
    title = next((ln.lstrip("# ") for ln in lines if ln.startswith("#")), "")
    return {"title": title, "header": rows[0] if rows else [], "rows": rows[1:],
            "prose": prose}


def _read_note(path: Path, i: int, name: str) -> dict:
    from sleepmeta.errors import SpecError

    try:
        return _dependence_table(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"data.notes[{i}]: file {name!r} cannot be read as UTF-8 text: "
                        f"{exc}") from None


def render_html(payload: dict, figures: dict, notes: list) -> str:
    """Render the HTML report from the payload (jinja2, autoescape on)."""
    import jinja2

    from sleepmeta.review import display
    from sleepmeta.review.methods import plain_summary

    env = jinja2.Environment(loader=jinja2.PackageLoader("sleepmeta.review", "templates"),
                             autoescape=True, undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True)
    env.filters.update(display.FILTERS)
    env.globals.update(display.GLOBALS)
    return env.get_template("report.html.j2").render(
        r=payload, figures=figures, notes=notes, summary=plain_summary(payload),
        labels=payload.get("labels") or {})


#: The files a report folder holds; a folder holding anything else is not replaced.
REPORT_FILES = ("report.html", "report.json")


def _prepare_out(out_dir) -> Path:
    """The absolute output folder, checked, with an earlier killed run's leftovers handled."""
    from sleepmeta.outputs import check_report_folder, clean_stale, output_error, recover_folder

    out_dir = Path(os.path.abspath(out_dir))  # not resolve(): a symlink is refused, not followed
    check_report_folder(out_dir, REPORT_FILES)
    try:
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        clean_stale(out_dir.parent, [out_dir.name])
        recover_folder(out_dir)
    except OSError as exc:
        raise output_error(exc, out_dir, "--out") from None
    return out_dir


def build_report(spec_path=None, out_dir="sleepmeta-report", *, fmt: str = "html",
                 progress=None, allow_outside=None) -> BuildResult:
    """Run a review and write its report.

    Parameters
    ----------
    spec_path : path, optional
        The review spec (TOML); default the bundled pregabalin review.
    out_dir : path
        Folder to write (``report.html`` and ``report.json``, or only
        ``report.json`` with ``fmt="json"``); replaced as a whole on success.
    fmt : {"html", "json"}
    progress : callable, optional
        Called with a short message at each step.
    allow_outside : path or sequence of paths, optional
        Folders outside the spec's own that its data and notes may name; by
        default every path must lie inside the spec's folder.

    Returns
    -------
    BuildResult

    Raises
    ------
    SpecError
        The spec or its data break a rule (the message names the key and study).
    """
    from sleepmeta.atomic import default_dir_mode
    from sleepmeta.errors import SpecError, unknown_option
    from sleepmeta.outputs import output_error, swap_folder, temp_prefix
    from sleepmeta.review.analyse import analyse, load_tables
    from sleepmeta.review.payload import to_json, report_payload
    from sleepmeta.review.spec import load_spec

    if fmt not in FORMATS:
        raise unknown_option("format", fmt, FORMATS)
    out_dir = _prepare_out(out_dir)
    say = progress or (lambda msg: None)
    say("reading the review spec")
    spec = load_spec(spec_path or default_spec_path(), allow_outside=allow_outside)
    say("reading the evidence tables")
    tables = load_tables(spec)
    base = spec.path.parent
    note_paths = [spec.file(f"data.notes[{i}]", name) for i, name in enumerate(spec.notes)]
    for i, (name, path) in enumerate(zip(spec.notes, note_paths)):
        if not path.is_file():
            raise SpecError(f"data.notes[{i}]: file {name!r} not found (relative to {str(base)!r})")
    ra = analyse(spec, tables, progress=say)
    say("assembling the numbers")
    payload = report_payload(ra)
    notes = [_read_note(path, i, name) for i, (name, path) in enumerate(zip(spec.notes, note_paths))
             ] if fmt == "html" else []
    try:
        tmp = Path(tempfile.mkdtemp(prefix=temp_prefix(out_dir.name, "tmp"), dir=out_dir.parent))
    except OSError as exc:
        raise output_error(exc, out_dir, "--out") from None
    try:
        files = []
        if fmt == "html":
            figures = _figures(ra, payload, progress=say)
            say("writing the HTML report")
            (tmp / "report.html").write_text(render_html(payload, figures, notes),
                                             encoding="utf-8")
            files.append(out_dir / "report.html")
        (tmp / "report.json").write_text(to_json(payload), encoding="utf-8")
        files.append(out_dir / "report.json")
        os.chmod(tmp, default_dir_mode())  # mkdtemp makes 0700; give the usual mode
        swap_folder(tmp, out_dir)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise output_error(exc, out_dir, "--out") from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return BuildResult(out_dir=out_dir, files=tuple(files), payload=payload)
