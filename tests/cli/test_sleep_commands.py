"""``sleepmeta nights`` and ``sleepmeta contrast`` end to end on files the test writes."""

from __future__ import annotations

import pandas as pd
import pytest
from typer.testing import CliRunner

from sleepmeta.cli import app
from sleepmeta.sleep import Hypnogram, night_table, write_hypnogram
from sleepmeta.trials import contrast

runner = CliRunner()


def _write_trial(folder):
    """Four participants, two nights each (crossover), in three file formats."""
    rows, hyps = [], []
    for i in range(4):
        for period, arm in ((1, "drug" if i % 2 == 0 else "placebo"), (2, "placebo" if i % 2 == 0 else "drug")):
            latency = 2 + i if arm == "drug" else 6 + 2 * i  # W epochs before sleep
            stages = ["W"] * latency + ["N2"] * 30 + ["W"] * (i + period) + ["R"] * 10
            h = Hypnogram(stages, start="2024-01-01 23:00")
            suffix = [".csv", ".edf", ".xml"][(i + period) % 3]
            path = folder / f"s{i}_p{period}{suffix}"
            write_hypnogram(h, path)
            rows.append({"file": path.name, "subject": f"s{i}", "arm": arm, "period": period})
            hyps.append(h.rename(path.stem))
    pd.DataFrame(rows).to_csv(folder / "meta.csv", index=False)
    return rows, hyps


def test_nights_then_contrast(tmp_path):
    rows, hyps = _write_trial(tmp_path)
    files = [str(tmp_path / r["file"]) for r in rows]
    out = tmp_path / "nights.csv"
    res = runner.invoke(app, ["nights", *files, "--meta", str(tmp_path / "meta.csv"), "--out", str(out)])
    assert res.exit_code == 0, res.output
    table = pd.read_csv(out, index_col="night")
    expected = night_table(hyps)  # the API on the same nights, computed in this run
    pd.testing.assert_series_equal(table["WASO"], expected["WASO"], check_names=False)
    assert list(table["subject"]) == [r["subject"] for r in rows]

    res = runner.invoke(app, ["contrast", str(out), "--endpoint", "SOL", "--endpoint", "WASO",
                              "--design", "crossover", "--period", "period", "--out", str(tmp_path / "c.csv")])
    assert res.exit_code == 0, res.output
    written = pd.read_csv(tmp_path / "c.csv")
    api = contrast(table, ["SOL", "WASO"], design="crossover", period="period", treatment="drug")
    assert written["md"].tolist() == pytest.approx(api["md"].tolist())
    assert written["vi"].tolist() == pytest.approx(api["vi"].tolist())
    assert "senn" in res.output and "SOL" in res.output


def test_errors_are_reported_not_raised(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("stage\nW\nN9\n")
    res = runner.invoke(app, ["nights", str(bad), "--out", str(tmp_path / "n.csv")])
    assert res.exit_code == 2  # bad input: exit 2 like every other command (issue 18)
    assert "line 3: unknown sleep stage 'N9'" in res.output
    assert not (tmp_path / "n.csv").exists()  # nothing half-written

    nights = pd.DataFrame({"subject": ["a", "a", "b"], "arm": ["drug", "placebo", "placebo"],
                           "WASO": [1.0, 2.0, 3.0]})
    nights.to_csv(tmp_path / "t.csv", index=False)
    res = runner.invoke(app, ["contrast", str(tmp_path / "t.csv"), "--endpoint", "WASO"])
    assert res.exit_code == 2  # bad input: exit 2 like every other command (issue 18)
    assert "participant 'a' is in both arms" in res.output


def test_tables_fit_80_columns_without_cutting_cells(tmp_path):
    # issue 11: terminal output readable in 80 columns (CI logs, pipes)
    rows, _ = _write_trial(tmp_path)
    files = [str(tmp_path / r["file"]) for r in rows]
    out = tmp_path / "nights.csv"
    res = runner.invoke(app, ["nights", *files, "--meta", str(tmp_path / "meta.csv"), "--out",
                              str(out)], terminal_width=80)
    assert res.exit_code == 0, res.output
    res2 = runner.invoke(app, ["contrast", str(out), "--endpoint", "SOL", "--endpoint", "WASO",
                               "--design", "crossover", "--period", "period"], terminal_width=80)
    assert res2.exit_code == 0, res2.output
    for text in (res.output, res2.output):
        assert max(map(len, text.splitlines())) <= 80 and "…" not in text


@pytest.mark.parametrize("value", ["-30", "0", "nan", "inf"])
def test_nights_epoch_seconds_out_of_range_exits_2(tmp_path, value):
    # issue 18: -30 gave a negative time in bed, 0 SE = NaN, nan all-NaN endpoints, inf inf
    f = tmp_path / "a.txt"
    f.write_text("W\nN2\nN2\n")
    res = runner.invoke(app, ["nights", str(f), "--epoch-seconds", value, "--out", str(tmp_path / "n.csv")])
    assert res.exit_code == 2
    assert "epoch_seconds must be a finite number of seconds > 0" in res.output
    assert not (tmp_path / "n.csv").exists()


def test_nights_meta_with_a_night_column_fails_before_writing(tmp_path):
    write_hypnogram(Hypnogram(["W", "N2"]), tmp_path / "a.csv")
    pd.DataFrame({"file": ["a.csv"], "night": [1]}).to_csv(tmp_path / "meta.csv", index=False)
    res = runner.invoke(app, ["nights", str(tmp_path / "a.csv"), "--meta", str(tmp_path / "meta.csv"),
                              "--out", str(tmp_path / "n.csv")])
    assert res.exit_code == 2 and "column 'night' is also a night-table column" in res.output
    assert not (tmp_path / "n.csv").exists()


def test_nights_lights_and_coding_options(tmp_path):
    f = tmp_path / "SC4001.txt"
    f.write_text("0\n0\n2\n4\n5\n0\n9\n9\n")  # R&K digits: 4 is stage 4 (N3), 5 REM
    out = tmp_path / "n.csv"
    res = runner.invoke(app, ["nights", str(f), "--coding", "rk", "--lights-off", "30", "--lights-on", "180",
                              "--out", str(out)])
    assert res.exit_code == 0, res.output
    row = pd.read_csv(out).iloc[0]
    # lights period = epochs 1..5: W N2 N3 REM W -> TIB 2.5, SOL 0.5, TST 1.5, N3 0.5, REM 0.5
    assert (row["TIB"], row["SOL"], row["TST"], row["N3"], row["REM"]) == (2.5, 0.5, 1.5, 0.5, 0.5)
    assert row["lights"] == "argument" and row["format"] == "text, one stage per line, coding 'rk'"
    res = runner.invoke(app, ["nights", str(f), "--out", str(out)])
    assert res.exit_code == 2 and "pass coding='rk'" in res.output


def test_contrast_on_an_unreadable_table_exits_2(tmp_path):
    bad = tmp_path / "x.csv"
    bad.write_bytes(b"\xff\xfe\x00garbage\x00")
    res = runner.invoke(app, ["contrast", str(bad), "--endpoint", "WASO"])
    assert res.exit_code == 2


from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=30, deadline=10000, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(content=st.one_of(st.binary(max_size=200), st.text(max_size=200).map(str.encode)),
       suffix=st.sampled_from([".csv", ".txt", ".xml", ".edf"]),
       extra=st.sampled_from([[], ["--coding", "rk"], ["--epoch-seconds", "nan"], ["--lights-off", "23:00"],
                              ["--lights-on", "-5"], ["--min-awakening-minutes", "-1"]]))
def test_nights_on_any_file_exits_0_or_2_with_one_line(tmp_path, content, suffix, extra):
    f = tmp_path / f"x{suffix}"
    f.write_bytes(content)
    res = runner.invoke(app, ["nights", str(f), "--out", str(tmp_path / "o.csv"), *extra])
    assert res.exit_code in (0, 2), res.output
    assert res.exception is None or isinstance(res.exception, SystemExit)
    if res.exit_code == 2:
        assert res.output.count("error:") == 1


@settings(max_examples=30, deadline=10000, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(content=st.one_of(st.binary(max_size=300), st.text(max_size=300).map(str.encode)),
       endpoint=st.sampled_from(["WASO", "TST", "nope"]))
def test_contrast_on_any_table_exits_0_or_2(tmp_path, content, endpoint):
    f = tmp_path / "n.csv"
    f.write_bytes(b"subject,arm,WASO,TST\n" + content)
    res = runner.invoke(app, ["contrast", str(f), "--endpoint", endpoint])
    assert res.exit_code in (0, 2), res.output
    assert res.exception is None or isinstance(res.exception, SystemExit)


def test_markup_in_file_content_is_printed_as_plain_text(tmp_path):
    bad = tmp_path / "m.csv"
    bad.write_text("stage\nW\n[/bold] [red]x[/red]\n")
    res = runner.invoke(app, ["nights", str(bad), "--out", str(tmp_path / "n.csv")])
    assert res.exit_code == 2
    assert "'[/bold] [red]x[/red]'" in res.output  # the value as written, not interpreted


def test_nights_with_lights_then_contrast_on_trial_endpoints(tmp_path):
    # parallel trial, 6 participants; each night has leading/trailing unscored epochs (outside the
    # night, as luna), and the meta table gives lights off as a clock time for some nights only
    rows, expected_nights = [], {}
    for i in range(6):
        arm = "drug" if i < 3 else "placebo"
        wake = 4 + i if arm == "drug" else 10 + i
        stages = ["UNS"] * 3 + ["W"] * wake + ["N2"] * 40 + ["W"] * (2 + i) + ["N2"] * 20 + ["R"] * 10 + ["W"] * 3 + ["UNS"] * 5
        h = Hypnogram(stages, start="2024-01-01 22:58:30")
        path = tmp_path / f"p{i}{['.csv', '.edf', '.xml'][i % 3]}"
        write_hypnogram(h, path)
        lights_off = "23:00:00" if i % 2 == 0 else ""  # epoch 3 (22:58:30 + 90 s)
        rows.append({"file": path.name, "subject": f"p{i}", "arm": arm, "lights_off": lights_off})
        # the same night through the API: lights off at 90 s, lights on after the last scored epoch
        expected_nights[path.stem] = h.with_lights(90, (len(stages) - 5) * 30)
    pd.DataFrame(rows).to_csv(tmp_path / "meta.csv", index=False)
    out = tmp_path / "nights.csv"
    files = [str(tmp_path / r["file"]) for r in rows]
    res = runner.invoke(app, ["nights", *files, "--meta", str(tmp_path / "meta.csv"), "--out", str(out)])
    assert res.exit_code == 0, res.output
    table = pd.read_csv(out, index_col="night", keep_default_na=False)
    assert table["lights"].tolist() == ["meta+unscored ends", "unscored ends"] * 3
    api = night_table(expected_nights)
    endpoints = ["TIB", "SOL", "LPS", "WASO_AASM", "WASO_LPS", "WASO_T3", "TST_T1", "n_wake_bouts"]
    for col in endpoints:
        assert table[col].astype(float).tolist() == pytest.approx(api[col].tolist()), col
    # night p0 by hand: 4 W + 40 N2 + 2 W + 20 N2 + 10 R + 3 W = 79 epochs = 39.5 min, SOL 2.0 min
    assert (table.loc["p0", "TIB"], table.loc["p0", "SOL"], table.loc["p0", "WASO_AASM"]) == (39.5, 2.0, 2.5)
    res = runner.invoke(app, ["contrast", str(out), "--endpoint", "WASO_AASM", "--endpoint", "LPS",
                              "--endpoint", "WASO_T3", "--out", str(tmp_path / "c.csv")])
    assert res.exit_code == 0, res.output
    written = pd.read_csv(tmp_path / "c.csv")
    frame = api.assign(subject=[r["subject"] for r in rows], arm=[r["arm"] for r in rows])
    expected = contrast(frame, ["WASO_AASM", "LPS", "WASO_T3"], treatment="drug")
    assert written["md"].tolist() == pytest.approx(expected["md"].tolist())
    # LPS: drug latencies 2.0, 2.5, 3.0 min vs placebo 6.5, 7.0, 7.5: difference -4.5 min
    assert written.loc[written["endpoint"] == "LPS", "md"].item() == pytest.approx(-4.5)
