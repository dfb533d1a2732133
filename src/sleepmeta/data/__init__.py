"""Datasets shipped with sleepmeta, with loaders and citations.

* :func:`bcg` -- the BCG vaccine trials (Colditz et al. 1994), identical to
  metadat's ``dat.bcg``; the reference example of metafor.
* :func:`pregabalin` -- the published study-level evidence on pregabalin and
  sleep (efficacy and adverse events) that the bundled review
  (``pregabalin_review.toml``) sets against ten common claims.

The files are shipped unchanged; the loaders only add derived columns
(``study``, ``n1``, ``n2`` for BCG; ``source_file``, ``row_id`` and
``published_summary`` for pregabalin). :data:`CITATION` names the sources.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import pandas as pd

__all__ = ["CITATION", "PregabalinEvidence", "bcg", "data_path", "pregabalin"]

#: Where each shipped dataset comes from.
CITATION: dict[str, str] = {
    "bcg": (
        "Colditz GA, Brewer TF, Berkey CS, Wilson ME, Burdick E, Fineberg HV, Mosteller F. "
        "Efficacy of BCG vaccine in the prevention of tuberculosis: meta-analysis of the "
        "published literature. JAMA. 1994;271(9):698-702. (As metadat's dat.bcg.)"
    ),
    "pregabalin": (
        "sleepmeta pregabalin evidence: study-level results of randomised trials of "
        "pregabalin on sleep outcomes and adverse events, read from published abstracts, "
        "results tables, the US prescribing information (Lyrica) and Cochrane reviews; each "
        "row carries its own citation, PMID/DOI, URL and location. See data/pregabalin/README.md."
    ),
}

#: The files of the pregabalin evidence, by role.
PREGABALIN_FILES: dict[str, tuple[str, ...]] = {
    "efficacy": ("efficacy_psg.csv", "efficacy_subjective.csv", "efficacy_tables.csv"),
    "harms": ("harms.csv", "harms_tables.csv"),
}

# Columns read as text (identifiers that look like numbers).
_TEXT_COLUMNS = {"pmid": str, "doi": str, "study_id": str, "p_value_text": str}


def data_path(name: str = "") -> Path:
    """The folder of the shipped data (or a file in it).

    Examples
    --------
    >>> data_path("bcg.csv").name
    'bcg.csv'
    """
    return Path(str(resources.files("sleepmeta.data"))) / name


def bcg() -> pd.DataFrame:
    """The BCG vaccine trials: 13 trials of BCG against tuberculosis.

    Source: Colditz GA, Brewer TF, Berkey CS, et al. Efficacy of BCG vaccine
    in the prevention of tuberculosis: meta-analysis of the published
    literature. JAMA 1994;271(9):698-702 (as ``dat.bcg`` in R's metadat).

    Returns
    -------
    DataFrame
        Columns ``trial, author, year, tpos, tneg, cpos, cneg, ablat, alloc``
        as in ``dat.bcg``, plus ``study`` (``"Author Year"``), ``n1 = tpos +
        tneg`` (vaccinated) and ``n2 = cpos + cneg`` (not vaccinated).

    Examples
    --------
    >>> df = bcg()
    >>> len(df), df.loc[0, "study"], int(df.loc[0, "n1"]), int(df.loc[0, "n2"])
    (13, 'Aronson 1948', 123, 139)
    """
    df = pd.read_csv(data_path("bcg.csv"))
    df["study"] = df["author"].astype(str) + " " + df["year"].astype(str)
    df["n1"] = df["tpos"] + df["tneg"]
    df["n2"] = df["cpos"] + df["cneg"]
    return df


def read_evidence_table(path: str | Path) -> pd.DataFrame:
    """Read one extraction table (CSV) with identifiers kept as text.

    Examples
    --------
    >>> df = read_evidence_table(data_path("pregabalin/harms.csv"))
    >>> isinstance(df["pmid"].dropna().iloc[0], str)
    True
    """
    path = Path(path)
    head = pd.read_csv(path, nrows=0).columns
    return pd.read_csv(path, dtype={c: t for c, t in _TEXT_COLUMNS.items() if c in head},
                       encoding="utf-8")


def _combined(files: tuple[str, ...]) -> pd.DataFrame:
    frames = []
    for name in files:
        df = read_evidence_table(data_path(f"pregabalin/{name}"))
        df.insert(0, "row_id", [f"{name.removesuffix('.csv')}:{i + 2}" for i in range(len(df))])
        df.insert(1, "source_file", name)
        frames.append(df)
    out = pd.concat(frames, ignore_index=True)
    out["published_summary"] = out["notes"].fillna("").str.contains("pooled", case=False)
    return out


@dataclass(frozen=True)
class PregabalinEvidence:
    """The pregabalin evidence as DataFrames, with its data dictionary.

    Attributes
    ----------
    efficacy : DataFrame
        Sleep outcomes: the rows of ``efficacy_psg.csv``,
        ``efficacy_subjective.csv`` and ``efficacy_tables.csv``.
    harms : DataFrame
        Adverse events: the rows of ``harms.csv`` and ``harms_tables.csv``.
    published : DataFrame
        The rows of both whose ``notes`` say they are pooled across trials
        (label tables, Cochrane and other pooled summaries), with a ``table``
        column (``"efficacy"`` or ``"harms"``). They also appear in
        ``efficacy``/``harms`` with ``published_summary = True``; they are
        not independent studies and must never be pooled with the trials
        they contain.
    dictionary : str
        The data dictionary (``README.md`` of the evidence).
    dependence : str
        What the sources say on abuse, dependence and withdrawal
        (``dependence_withdrawal.md``).
    sources : dict
        File name -> what it holds.

    Every frame has ``row_id`` (``"<file>:<line>"``, the line number in the
    CSV file, header = line 1), ``source_file`` and ``published_summary``
    added to the columns of the files.
    """

    efficacy: pd.DataFrame
    harms: pd.DataFrame
    published: pd.DataFrame
    dictionary: str
    dependence: str
    sources: dict

    def __repr__(self) -> str:
        return (f"PregabalinEvidence(efficacy={len(self.efficacy)} rows, harms={len(self.harms)} "
                f"rows, published summaries={len(self.published)} rows)")


def pregabalin() -> PregabalinEvidence:
    """The published evidence on pregabalin and sleep, as DataFrames.

    Numbers are as printed in the sources (abstracts, results tables, the US
    label, Cochrane reviews); nothing was imputed. See the data dictionary
    (``pregabalin().dictionary``) and :data:`CITATION`. This is data for
    evidence synthesis, not advice on the use or dose of any medicine.

    Returns
    -------
    PregabalinEvidence

    Examples
    --------
    >>> ev = pregabalin()
    >>> len(ev.efficacy), len(ev.harms)
    (77, 126)
    >>> sorted(ev.published["study_id"].unique())[:2]
    ['BJCP 2008 pooled (PMC2492925)', 'Derry 2016 (pooled)']
    """
    efficacy = _combined(PREGABALIN_FILES["efficacy"])
    harms = _combined(PREGABALIN_FILES["harms"])
    published = pd.concat(
        [efficacy[efficacy["published_summary"]].assign(table="efficacy"),
         harms[harms["published_summary"]].assign(table="harms")], ignore_index=True)
    read = lambda name: data_path(f"pregabalin/{name}").read_text(encoding="utf-8")  # noqa: E731
    sources = {
        "efficacy_psg.csv": "sleep measured by polysomnography, and subjective measures of the same trials",
        "efficacy_subjective.csv": "subjective sleep outcomes (diaries, MOS-Sleep, sleep interference)",
        "efficacy_tables.csv": "sleep outcomes read from whole results tables of reviews",
        "harms.csv": "adverse events by daily dose",
        "harms_tables.csv": "adverse events from pooled results tables (by dose or age group)",
        "dependence_withdrawal.md": "abuse, dependence and withdrawal as the sources report them",
    }
    return PregabalinEvidence(efficacy=efficacy, harms=harms, published=published,
                              dictionary=read("README.md"),
                              dependence=read("dependence_withdrawal.md"), sources=sources)
