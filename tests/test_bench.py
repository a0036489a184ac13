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


def _fake_measures(backend="openvino"):
    """What measure() returns, with round numbers: every task takes 1 s of wall time and
    2 s of CPU time, except those set below."""
    from labkit.bench import QUICK

    settings = dict(QUICK, model="toy", weights=None, repeats=2, quick=True)
    names = ("tf_inference", "inference_lime", "lime", "lime_package", "inference_rise", "rise",
             "inference_curves", "curves", "gradcam", "fem", "forward")
    times = {name: [(1.0, 2.0), (1.0, 2.0)] for name in names}
    times["tf_inference"] = [(2.0, 4.0), (4.0, 8.0)]  # 8 images: 4 then 2 images/s
    times["lime"] = [(5.0, 10.0), (5.0, 10.0)]        # 40 samples
    times["gradcam"] = [(4.0, 8.0), (4.0, 8.0)]       # 2 calls, vs 2 forward passes in 1 s
    gradients = [dict(name=f"{key}_vs_backward", what=key, baseline="TF forward+backward",
                      unit="ratio", seconds=1.0, baseline_seconds=1.0, ratio=1.0, cpu_ratio=1.0)
                 for key in ("ig", "sg")]
    masked = [dict(name=f"{method}_vs_runtime", what=method, baseline="openvino inference",
                   unit="ratio", seconds=1.2, baseline_seconds=1.0, ratio=1.2, cpu_ratio=1.1)
              for method in ("occlusion", "scorecam")]
    return dict(settings=settings, backend=backend, batch_size=32, times=times, retraced=0,
                memory=(120.0, "kernel peak RSS"), max_logit_diff=2e-3, gradient_rows=gradients,
                masked_rows=masked,
                bf16_pcc={"lime": 0.99, "rise": 0.98} if backend != "tensorflow" else {},
                load_times=[(3.0, 1), (1.0, 0)] if backend != "tensorflow" else [])


def test_report_rows_compute_the_paired_ratios_and_verdicts():
    from labkit.bench import report_rows

    rows = {r["name"]: r for r in report_rows(_fake_measures())}
    assert list(rows)[:2] == ["inference", "runtime_inference"]
    assert set(rows) == {"inference", *TARGETS, *INFO}
    assert rows["inference"]["value"] == 3.0  # median of 4 and 2 images/s
    # LIME's 40 samples against TF's rate of the same repeat: 5 s * 4/s / 40 and 5 * 2 / 40.
    assert rows["lime_vs_tf"]["ratio"] == 0.375 and rows["lime_vs_tf"]["verdict"] == "PASS"
    assert rows["lime_vs_tf"]["cpu_ratio"] == 0.375
    assert rows["lime_vs_runtime"]["ratio"] == 5.0 and rows["lime_vs_runtime"]["verdict"] == "MISS"
    assert rows["rise_vs_runtime"]["ratio"] == 1.0 and rows["rise_vs_runtime"]["verdict"] == "PASS"
    assert rows["gradcam_vs_forward"]["seconds"] == 2.0  # per call
    assert rows["gradcam_vs_forward"]["ratio"] == 4.0 and rows["gradcam_vs_forward"]["verdict"] \
        == "MISS"
    assert rows["rise_peak_memory"]["verdict"] == "PASS"
    assert rows["max_logit_diff"]["verdict"] == "MISS"  # 2e-3 > 1e-3
    assert rows["load_second"]["baseline"] == "0 conversion(s)" and rows["load_first"]["value"] == 3
    assert all(rows[name]["verdict"] == "" for name in INFO)
    assert rows["ig_vs_backward"]["verdict"] == "PASS" and rows["ig_vs_backward"]["value"] == 1.0
    text = format_report(dict(settings=_fake_measures()["settings"], rows=list(rows.values()),
                              retraced=0))
    assert rows["scorecam_vs_runtime"]["verdict"] == "MISS"  # 1.2 > 1.15
    assert "QUICK smoke run" in text and text.count("MISS") == 5


def test_report_rows_leave_out_what_tensorflow_does_not_measure():
    from labkit.bench import report_rows

    measures = _fake_measures("tensorflow")
    measures["memory"] = None
    names = [r["name"] for r in report_rows(measures)]
    assert not {"bf16_lime_pcc", "bf16_rise_pcc", "load_first", "load_second",
                "rise_peak_memory"} & set(names)
