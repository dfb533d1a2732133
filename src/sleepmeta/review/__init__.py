"""Stage 6: a review -- spec, evidence classification, analysis, verdicts, report.

``build_report(spec_path, out_dir)`` runs a TOML review spec through the one
engine and writes a self-contained HTML report (and ``report.json``);
``sleepmeta report`` is its command line. Submodules: :mod:`.spec`,
:mod:`.evidence`, :mod:`.analyse`, :mod:`.verdict`, :mod:`.payload`,
:mod:`.methods`, :mod:`.display`, :mod:`.build`.
"""

from __future__ import annotations

__all__ = ["build_report", "load_spec"]


def __getattr__(name):
    if name == "build_report":
        from sleepmeta.review.build import build_report

        return build_report
    if name == "load_spec":
        from sleepmeta.review.spec import load_spec

        return load_spec
    raise AttributeError(f"module 'sleepmeta.review' has no attribute {name!r}")
