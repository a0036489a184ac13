"""Smoke test of the speed benchmark: it runs and reports every target (no timing checks)."""
from labkit.bench import INFO, TARGETS, format_report, run


def test_quick_benchmark_reports_every_target_without_retracing():
    report = run("mobilenet", weights=None, quick=True, repeats=1, echo=False)
    rows = report["rows"]
    assert [r["name"] for r in rows if r["name"] in TARGETS] == list(TARGETS)
    assert {r["name"] for r in rows} == {"inference", *TARGETS, *INFO}
    assert rows[0]["unit"] == "images/s" and rows[0]["value"] > 0
    for row in rows[1:]:
        if row["name"] in INFO:
            assert row["target"] is None and row["verdict"] == ""
            continue
        assert row["target"] == TARGETS[row["name"]]
        assert row["value"] > 0 or row["unit"] in ("MB", "logit")  # may round to 0
        assert row["verdict"] == ("PASS" if row["value"] <= row["target"] else "MISS")
    # Calls with other sample counts than the warm-up must reuse the compiled graphs.
    assert report["retraced"] == 0
    second = [r for r in rows if r["name"] == "load_second"][0]
    assert second["baseline"] == "0 conversion(s)"  # the second process read the cache
    text = format_report(report)
    assert all(name in text for name in TARGETS) and "warm-up excluded" in text
