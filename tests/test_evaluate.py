"""Data-set evaluation: methods x images x metrics into a tidy table, and its summary."""
import numpy as np
import pandas as pd
import pytest
from test_metrics import region_image, region_mask, region_model

import labkit
from labkit import explain
from labkit.metrics import METRICS, CurveScore, deletion, evaluate, pcc, road, score, summarize

FAST = {"rise": {"num_masks": 64, "grid_size": 4}}
ALL = ("pcc", "ssim", "iou", "pointing_game", "insertion", "deletion")
STEPS = {"insertion": {"steps": 7}, "deletion": {"steps": 7, "baseline": "black"}}


@pytest.fixture(scope="module")
def model():
    return region_model()


@pytest.fixture(scope="module")
def data():
    # Red only inside REGION: Grad-CAM on the "red" layer is then exactly the region.
    images = [region_image(seed, red_outside=False) for seed in (0, 1)]
    masks = [region_mask()] * 2
    return images, [m.astype(float) for m in masks], masks


@pytest.fixture(scope="module")
def result(model, data):
    images, truths, masks = data
    return evaluate(model, images, methods=("gradcam", "rise"), metrics=ALL,
                    ground_truths=truths, masks=masks, method_params=FAST,
                    metric_params=STEPS, image_ids=["a", "b"], progress=False,
                    return_explanations=True, return_curves=True)


def test_table_is_tidy_with_one_row_per_image_method_metric(result):
    table, _, _ = result
    assert list(table.columns) == ["image", "method", "metric", "value", "model", "seconds"]
    assert len(table) == 2 * 2 * len(ALL)
    assert not table.duplicated(["image", "method", "metric"]).any()
    assert set(table["image"]) == {"a", "b"} and set(table["model"]) == {"region"}
    assert (table["seconds"] > 0).all()


def test_scores_belong_to_the_right_map(result):
    table, explanations, curves = result
    gradcam = table[table.method == "gradcam"].set_index(["image", "metric"])["value"]
    for image in ("a", "b"):
        for name in ("pcc", "ssim", "iou", "pointing_game"):
            assert gradcam[image, name] == pytest.approx(1.0, abs=1e-6), name
        assert gradcam[image, "insertion"] > 0.9 and gradcam[image, "deletion"] < 0.1
    assert set(explanations) == {(i, m) for i in "ab" for m in ("gradcam", "rise")}
    curve = curves["b", "rise", "deletion"]
    assert isinstance(curve, CurveScore) and len(curve.scores) == 8
    row = table[(table.image == "b") & (table.method == "rise") & (table.metric == "deletion")]
    assert row["value"].item() == curve.auc
    assert row["seconds"].item() == explanations["b", "rise"].seconds


def test_score_tabulates_existing_explanations(model, data, result):
    _, explanations, _ = result
    images, truths, _ = data
    chosen = {"grad-cam": explanations["a", "gradcam"], "rise": explanations["a", "rise"]}
    table = score(chosen, metrics=("deletion", "pcc"), model=model, ground_truth=truths[0],
                  metric_params={"deletion": {"steps": 7}})
    assert list(table.index) == ["grad-cam", "rise"]
    assert list(table.columns) == ["deletion ↓", "pcc ↑"]
    # Each row is scored on its own explanation, not the first one.
    for label, e in chosen.items():
        assert table.loc[label, "deletion ↓"] == deletion(model, images[0], e, steps=7).auc
        assert table.loc[label, "pcc ↑"] == pcc(e, truths[0])
    with pytest.raises(ValueError, match="needs ground_truth="):
        score(chosen, metrics=("ssim",), model=model)
    with pytest.raises(TypeError, match="dict label -> Explanation"):
        score(list(chosen.values()), model=model)


def test_summary_per_method_with_directions(result):
    table, _, _ = result
    summary = summarize(table)
    assert list(summary.index) == ["gradcam", "rise"]
    assert list(summary.columns.get_level_values(0).unique()) == list(ALL) + ["seconds"]
    rise = table[(table.method == "rise") & (table.metric == "pcc")]["value"]
    assert summary.loc["rise", ("pcc", "mean")] == pytest.approx(rise.mean())
    assert summary.loc["rise", ("pcc", "std")] == pytest.approx(rise.std())
    assert summary.loc["rise", ("pcc", "n")] == 2
    assert summary.attrs["higher_is_better"] == {m: METRICS[m].higher_is_better for m in ALL}
    assert summary.attrs["higher_is_better"]["deletion"] is False
    with pytest.raises(ValueError, match="lacks the columns"):
        summarize(table.drop(columns="seconds"))


def test_compact_summary_is_one_readable_column_per_metric(result):
    table, _, _ = result
    numbers = summarize(table)
    compact = summarize(table, compact=True)
    assert list(compact.index) == ["gradcam", "rise"]
    arrows = {True: "↑", False: "↓"}
    assert list(compact.columns) == [f"{m} {arrows[METRICS[m].higher_is_better]}"
                                     for m in ALL] + ["seconds"]
    mean, std = numbers.loc["rise", ("pcc", "mean")], numbers.loc["rise", ("pcc", "std")]
    assert compact.loc["rise", "pcc ↑"] == f"{mean:.3f} ± {std:.3f}"
    assert compact.attrs["higher_is_better"] == numbers.attrs["higher_is_better"]
    with pytest.raises(labkit.ParameterError, match="compact must be True or False, got 'yes'"):
        summarize(table, compact="yes")


def test_compact_summary_says_when_values_are_missing():
    table = pd.DataFrame({"image": [0, 1, 0, 1], "method": ["m"] * 4,
                          "metric": ["pcc", "pcc", "deletion", "deletion"],
                          "value": [0.5, np.nan, 0.2, 0.4], "model": "x", "seconds": 1.0})
    compact = summarize(table, compact=True)
    assert compact.loc["m", "pcc ↑"] == "0.500 (n=1)"
    assert compact.loc["m", "deletion ↓"] == "0.300 ± 0.141"


def test_nan_values_are_left_out_of_the_summary():
    table = pd.DataFrame({"image": [0, 1, 0, 1], "method": ["m"] * 4,
                          "metric": ["pcc", "pcc", "deletion", "deletion"],
                          "value": [0.5, np.nan, 0.2, 0.4], "model": "x", "seconds": 1.0})
    summary = summarize(table)
    assert summary.loc["m", ("pcc", "mean")] == 0.5 and summary.loc["m", ("pcc", "n")] == 1
    assert summary.loc["m", ("deletion", "mean")] == pytest.approx(0.3)


def test_metrics_without_ground_truth_are_skipped_with_a_warning(model, data):
    images = data[0][:1]
    with pytest.warns(UserWarning, match="pcc, ssim skipped: pcc needs ground_truths="):
        table = evaluate(model, images, methods=["gradcam"], metric_params=STEPS,
                         progress=False)
    assert list(table["metric"]) == ["insertion", "deletion"]


def test_same_seed_same_table(model, data):
    images = data[0][:1]
    kw = dict(methods=["rise"], metrics=["deletion"], method_params=FAST,
              metric_params=STEPS, progress=False)
    a, b = evaluate(model, images, seed=5, **kw), evaluate(model, images, seed=5, **kw)
    pd.testing.assert_frame_equal(a.drop(columns="seconds"), b.drop(columns="seconds"))


def test_road_in_evaluate_with_its_directions(model, data):
    image = data[0][0]  # red only in REGION, which Grad-CAM's map is exactly
    table, curves = evaluate(model, [image], methods=["gradcam"],
                             metrics=["road", "road_lerf", "deletion"], metric_params=STEPS,
                             progress=False, return_curves=True)
    values = table.set_index("metric")["value"]
    # MoRF imputes REGION from red-free neighbours at once; LeRF keeps it to the end.
    assert values["road"] < 0.05 and values["road_lerf"] > 0.95
    direct = road(model, image, explain(model, image, "gradcam"))
    assert values["road"] == direct.auc
    assert curves[0, "gradcam", "road_lerf"].metric == "road_lerf"
    assert summarize(table).attrs["higher_is_better"] == {"road": False, "road_lerf": True,
                                                         "deletion": False}


def test_evaluate_argument_checks(model, data):
    images = data[0]
    with pytest.raises(ValueError, match="unknown metric 'auc'"):
        evaluate(model, images, metrics=["auc"], progress=False)
    with pytest.raises(ValueError, match="unknown method 'cam'"):
        evaluate(model, images, methods=["cam"], progress=False)
    with pytest.raises(ValueError, match="masks has 1 entries for 2 images"):
        evaluate(model, images, metrics=["iou"], masks=[region_mask()], progress=False)
    with pytest.raises(ValueError, match="image_ids must hold 2 distinct labels"):
        evaluate(model, images, image_ids=["x", "x"], progress=False)
    with pytest.raises(ValueError, match="metric_params has an entry for 'insert'"):
        evaluate(model, images, metric_params={"insert": {}}, progress=False)


@pytest.mark.weights
def test_evaluate_on_mobilenet(mobilenet, cat_on_grass):
    image, mask = cat_on_grass
    steps = {"deletion": {"steps": mobilenet.batch_size - 1}}  # one padded batch per curve
    table = evaluate(mobilenet, [image], methods=("gradcam", "fem"),
                     metrics=("iou", "pointing_game", "deletion"), masks=[mask],
                     metric_params=steps, progress=False)
    summary = summarize(table)
    assert table["value"].notna().all() and len(table) == 6
    assert (summary["pointing_game", "mean"] == 1.0).all()
    assert (summary["iou", "mean"] > mask.mean()).all()  # a random map's expected IoU is lower
    assert (summary["deletion", "mean"] < 0.2).all()
