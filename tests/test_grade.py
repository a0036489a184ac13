"""The assignment grader: JSON submissions validated, pickles refused, real runs scored."""
import json
import pickle
import shutil

import numpy as np
import pytest

import labkit
from labkit.course import grade

LIME = {"method": "lime", "params": {"num_samples": 40, "n_segments": 20}, "num_features": 3}


@pytest.fixture(scope="module")
def benchmark():
    return labkit.data.load_benchmark(split="test")


def test_default_grading_set_has_a_mask_per_image():
    name, dataset = grade.default_grading_set()
    assert "benchmark" in name and len(dataset) >= 3
    assert all(item.mask is not None and item.mask.any() for item in dataset)


def _write(tmp_path, submission, name="submission.json"):
    path = tmp_path / name
    path.write_text(json.dumps(submission))
    return str(path)


def test_valid_submissions_get_defaults():
    assert grade.validate(LIME)["num_features"] == 3
    assert grade.validate({"method": "rise", "params": {"num_masks": 50, "p1": 0.3}}) == {
        "method": "rise", "params": {"num_masks": 50, "p1": 0.3}, "top_percent": 20.0}
    custom = {"method": "lime", "params": {"segmentation": "felzenszwalb", "n_segments": 60,
                                           "hide_color": [0, 0, 0], "seed": 3}}
    assert grade.validate(custom)["params"]["segmentation"] == "felzenszwalb"


@pytest.mark.parametrize("submission, message", [
    ({"method": "lime", "params": {}, "explanations": 5}, "unknown key 'explanations'"),
    ({"method": "lime", "params": {"n_superpixels": 5}}, "lime has no parameter 'n_superpixels'"),
    ({"method": "lime", "params": {"n_segments": 1}}, "n_segments must be an integer >= 2"),
    ({"method": "lime", "params": {"num_samples": 6000}}, "num_samples=6000 is above 5000"),
    ({"method": "rise", "params": {"p1": 1.0}}, "p1 must be a number > 0 and < 1"),
    ({"method": "lime", "params": {"num_samples": "100"}}, "num_samples must be an integer"),
    ({"method": "lime", "params": {"num_samples": 100.0}}, "num_samples must be an integer"),
    ({"method": "lime", "params": {"segmentation": "watershed"}}, "segmentation must be one of"),
    ({"method": "lime", "params": {"hide_color": [0, 0, 300]}}, "baseline must be None, a grey"),
    ({"method": "lime", "params": {"baseline": "red"}}, "baseline must be None, a grey"),
    ({"method": "lime", "params": {"compactness": -1}}, "compactness must be a number > 0"),
    ({"method": "lime", "params": {"seed": -1}}, "params.seed must be None or an integer"),
    ({"method": "lime", "params": {"segments": [[0]]}}, "cannot travel in JSON"),
    ({"method": "shap"}, "unknown method 'shap'"),
    ({"params": {}}, "has no 'method'"),
    ({"method": "gradcam", "num_features": 5}, "unknown key 'num_features'"),
    ({"method": "gradcam", "top_percent": 0}, "top_percent must be a number strictly between"),
    ({"method": "lime", "num_features": 0}, "num_features must be an integer from 1 to 100"),
    ([1, 2], "must be a JSON object"),
])
def test_invalid_submissions_say_why(submission, message):
    with pytest.raises(grade.SubmissionError, match=message):
        grade.validate(submission)


def test_pickles_are_refused_unopened(tmp_path, capsys):
    by_magic = tmp_path / "submission.json"
    by_magic.write_bytes(pickle.dumps(LIME))
    by_name = _write(tmp_path, LIME, "submission.pkl")
    for path in (str(by_magic), by_name):
        assert grade.main([path]) == 2
        assert "looks like a pickle" in capsys.readouterr().err
    broken = tmp_path / "broken.json"
    broken.write_text('{"method": "lime",}')
    assert grade.main([str(broken)]) == 2
    assert "is not valid JSON" in capsys.readouterr().err


def test_invalid_submission_exits_2_before_loading_anything(tmp_path, capsys):
    path = _write(tmp_path, {"method": "lime", "params": {"kernel_width": -1}})
    assert grade.main([path, "--limit", "1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: params.kernel_width must be a number > 0")
    assert "Traceback" not in err


def test_lime_with_custom_segmentation_is_graded(benchmark):
    # quickshift makes about 50 superpixels here: 120 samples keep the surrogate determined
    submission = {**LIME, "params": {**LIME["params"], "segmentation": "quickshift",
                                     "num_samples": 120}}
    report = grade.grade(submission, grading_set=("test", benchmark), limit=2)
    assert [r["image"] for r in report.rows] == [item.image_path.stem for item in benchmark[:2]]
    assert all(0 <= r["iou"] <= 1 and r["seconds"] > 0 for r in report.rows)
    assert report.mean_iou == pytest.approx(np.mean([r["iou"] for r in report.rows]))
    assert report.cores >= 1 and report.model == "efficientnet_lite0"


def test_top_region_scores_one_on_its_own_region(benchmark):
    # The score is the IoU of the submitted region: a mask equal to it scores exactly 1.
    model = labkit.load_model("efficientnet_lite0")
    e = labkit.explain(model, benchmark[0].image, "gradcam")
    top = e.saliency >= np.quantile(e.saliency, 0.8)
    assert grade.score_explanation(e, top, {"top_percent": 100 * top.mean()}) == pytest.approx(1)
    e = labkit.explain(model, benchmark[0].image, "lime", num_samples=40, n_segments=20)
    region = labkit.lime_mask(e, num_features=2)[1] > 0
    assert grade.score_explanation(e, region, {"num_features": 2}) == 1.0
    assert grade.score_explanation(e, ~region, {"num_features": 2}) == 0.0


def test_cli_grades_a_hidden_folder_and_ranks_the_class(benchmark, tmp_path, capsys):
    hidden = tmp_path / "hidden"
    for item in benchmark[:2]:
        for path in (item.image_path, item.density_path, item.mask_path):
            (hidden / path.parent.name).mkdir(parents=True, exist_ok=True)
            shutil.copy(path, hidden / path.parent.name / path.name)
    board = str(tmp_path / "board.csv")
    runs = {"ann": {"method": "gradcam", "top_percent": 30},
            "bob": {"method": "fem", "params": {"k": 1.0}, "top_percent": 30}}
    for student, submission in runs.items():
        code = grade.main([_write(tmp_path, submission), "--grading-set", str(hidden),
                           "--leaderboard", board, "--student", student])
        out = capsys.readouterr().out
        assert code == 0 and str(hidden) in out and "cat_N_10" in out and "mean IoU" in out
    assert grade.main([_write(tmp_path, runs["ann"]), "--grading-set", str(hidden),
                       "--leaderboard", board, "--student", "ann"]) == 0
    ranking = grade.leaderboard(board)
    assert list(ranking["submissions"]) and sorted(ranking["student"]) == ["ann", "bob"]
    assert ranking["mean_iou"].is_monotonic_decreasing
    assert dict(zip(ranking["student"], ranking["submissions"])) == {"ann": 2, "bob": 1}
    capsys.readouterr()
    assert grade.main(["--show-leaderboard", "--leaderboard", board]) == 0
    assert "rank" in capsys.readouterr().out
    (hidden / "Masks").rename(tmp_path / "gone")
    assert grade.main([_write(tmp_path, runs["ann"]), "--grading-set", str(hidden)]) == 2
    assert "needs a Masks/ folder" in capsys.readouterr().err
