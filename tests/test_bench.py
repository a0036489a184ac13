"""Smoke test of the speed benchmark: it runs and reports every target (no timing checks)."""
from labkit.bench import TARGETS, format_report, run


def test_quick_benchmark_reports_every_target_without_retracing():
    report = run("mobilenet", weights=None, quick=True, repeats=1, echo=False)
    rows = report["rows"]
    assert [r["name"] for r in rows] == ["inference", *TARGETS]
    assert rows[0]["unit"] == "images/s" and rows[0]["value"] > 0
    for row in rows[1:]:
        assert row["target"] == TARGETS[row["name"]]
        assert row["value"] > 0 or row["unit"] == "MB"  # memory growth may round to 0
        assert row["verdict"] == ("PASS" if row["value"] <= row["target"] else "MISS")
    # Calls with other sample counts than the warm-up must reuse the compiled graphs.
    assert report["retraced"] == 0
    text = format_report(report)
    assert all(name in text for name in TARGETS) and "warm-up excluded" in text
