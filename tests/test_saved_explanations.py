"""Explanations saved to .npz and loaded back: equal field by field, no pickle, and one
clear sentence for every file labkit will not read."""
import dataclasses
import json
import pickle
import zipfile

import numpy as np
import pytest

import labkit
from labkit import metrics, plots
from labkit.explainers import Explanation, ExplanationFileError, load_explanation
from labkit.explainers.saved import FORMAT

FIELDS = [f.name for f in dataclasses.fields(Explanation)]


@pytest.fixture(scope="module")
def model():
    return labkit.load_model("efficientnet_lite0")


@pytest.fixture(scope="module")
def explained(model):
    """Real explanations of a real photo, cheap settings, by method."""
    image = labkit.sample_image("elephant_waterhole", size=224)
    settings = {"lime": dict(num_samples=48, n_segments=20, top_labels=3),
                "rise": dict(num_masks=64, grid_size=5, snapshots=3),
                "gradcam": {}}
    return {m: labkit.explain(model, image, m, seed=1, **p) for m, p in settings.items()}


def _assert_same(loaded, saved):
    """Every field, compared independently of Explanation.__eq__."""
    def same(a, b, where):
        assert type(a) is type(b), where
        if isinstance(a, np.ndarray):
            assert a.dtype == b.dtype and a.shape == b.shape, where
            np.testing.assert_array_equal(a, b, err_msg=where)
        elif isinstance(a, dict):
            assert list(a) == list(b), where
            assert [type(k) for k in a] == [type(k) for k in b], where
            for k in a:
                same(a[k], b[k], f"{where}[{k!r}]")
        elif isinstance(a, (list, tuple)):
            assert len(a) == len(b), where
            for i, (x, y) in enumerate(zip(a, b)):
                same(x, y, f"{where}[{i}]")
        else:
            assert a == b or (np.isnan(a) and np.isnan(b)), where

    for name in FIELDS:
        same(getattr(loaded, name), getattr(saved, name), name)


@pytest.mark.parametrize("method", ["lime", "rise", "gradcam"])
def test_a_saved_explanation_loads_back_equal(explained, tmp_path, method):
    e = explained[method]
    path = e.save(tmp_path / method)
    assert path == tmp_path / f"{method}.npz" and path.is_file()
    loaded = load_explanation(path)
    _assert_same(loaded, e)
    assert loaded == e and labkit.load_explanation is load_explanation
    # An ordinary .npz, readable without pickle, with the metadata as JSON text.
    with np.load(path, allow_pickle=False) as archive:
        meta = json.loads(str(archive["metadata"]))
        np.testing.assert_array_equal(archive["saliency"], e.saliency)
    assert meta["format"] == FORMAT and meta["labkit"] == labkit.__version__
    assert meta["method"] == method and meta["target_name"] == e.target_name
    assert meta["params"]["seed"] == 1 and meta["model_hash"] == e.model_hash


def test_nested_by_products_keep_their_keys_and_types(explained, tmp_path):
    lime, rise = explained["lime"], explained["rise"]
    by_label = load_explanation(lime.save(tmp_path / "lime")).extras["weights_by_label"]
    assert list(by_label) == list(lime.extras["weights_by_label"]) and len(by_label) == 3
    assert all(type(k) is int for k in by_label)  # class indices, not the strings of JSON keys
    with np.load(tmp_path / "lime.npz") as archive:
        assert f"extras/weights_by_label/{lime.target}" in archive.files
    running = load_explanation(rise.save(tmp_path / "rise")).extras["running"]
    assert [n for n, _ in running] == [n for n, _ in rise.extras["running"]]
    assert type(running[0]) is tuple and running[-1][1].dtype == np.float32


def test_model_hash_is_the_weights_hash_kept_per_classifier(model, explained):
    assert explained["gradcam"].model_hash == model.model_hash
    assert len(model.model_hash) == 64 and model.model_hash is model.model_hash  # cached
    random = labkit.load_model("efficientnet_lite0", weights=None)
    assert random.model_hash != model.model_hash
    # Scoring with other weights than the explained model's is flagged.
    with pytest.warns(UserWarning, match="'gradcam' was computed with other weights"):
        metrics.score({"gradcam": explained["gradcam"]}, model=random,
                      metric_params={"deletion": {"steps": 3}, "insertion": {"steps": 3}})


def test_equality_sees_every_field(explained):
    e = explained["lime"]
    assert e == dataclasses.replace(e)
    assert e != dataclasses.replace(e, saliency=e.saliency.astype(np.float64))
    assert e != dataclasses.replace(e, model_hash="0" * 64)
    changed = {**e.extras, "weights_by_label": {**e.extras["weights_by_label"]}}
    changed["weights_by_label"][e.target] = changed["weights_by_label"][e.target] + 1
    assert e != dataclasses.replace(e, extras=changed)
    keys_as_text = {**e.extras, "weights_by_label": {str(k): v for k, v in
                                                     e.extras["weights_by_label"].items()}}
    assert e != dataclasses.replace(e, extras=keys_as_text)


def test_unusual_values_round_trip(explained, tmp_path):
    e = dataclasses.replace(
        explained["gradcam"], probability=float("nan"), model_hash=None,
        params={"baseline": (0, 128, 255), "segments": np.arange(6).reshape(2, 3),
                "layer": "top_conv", "seed": None},
        extras={"scalars": [np.float32(0.25), np.int64(3), np.bool_(True), "text", None, 2.5],
                "nested": {(1, 2): {"deep": np.ones(2, np.uint8)}, "3": 3, 3: "three"}})
    loaded = load_explanation(e.save(tmp_path / "odd.npz"))
    _assert_same(loaded, e)
    assert np.isnan(loaded.probability) and loaded == e
    curve = metrics.CurveScore(0.5, np.linspace(0, 1, 3), np.ones(3), "deletion", 0, False)
    with pytest.raises(TypeError, match=r"extras/curve is a .*CurveScore, which an explanation "
                                        "file cannot hold"):
        dataclasses.replace(e, extras={"curve": curve}).save(tmp_path / "bad")
    with pytest.raises(TypeError, match="array of Python objects"):
        dataclasses.replace(e, extras={"o": np.array([{}, 1], dtype=object)}).save(tmp_path / "b")
    assert not list(tmp_path.glob("*b*"))  # nothing written, not even a temporary file


def test_a_loaded_explanation_is_plotted_and_scored(explained, model, tmp_path):
    e = explained["gradcam"]
    loaded = load_explanation(e.save(tmp_path / "gradcam"))
    assert loaded.extras["layer"] == e.extras["layer"]
    assert plots.show([loaded, e]).axes
    scores = metrics.score({"saved": e, "loaded": loaded}, model=model,
                           metric_params={"deletion": {"steps": 7}, "insertion": {"steps": 7}})
    assert scores.loc["saved"].equals(scores.loc["loaded"].rename("saved"))


# -- files labkit refuses, each with one sentence --------------------------------------
def _rewrite(path, target, change):
    """Copy the archive at ``path`` to ``target`` with ``change(arrays)`` applied."""
    with np.load(path) as archive:
        arrays = {name: archive[name] for name in archive.files}
    change(arrays)
    with open(target, "wb") as f:
        np.savez(f, **arrays)
    return target


def test_tampered_newer_and_foreign_files_are_refused(explained, tmp_path):
    path = explained["lime"].save(tmp_path / "lime")

    def brighter(arrays):
        arrays["saliency"] = arrays["saliency"] * 2

    def other_class(arrays):
        meta = json.loads(str(arrays["metadata"]))
        meta["target_name"] = "tusker"
        arrays["metadata"] = np.array(json.dumps(meta))

    for change in (brighter, other_class):
        with pytest.raises(ExplanationFileError, match="was altered after labkit saved it"):
            load_explanation(_rewrite(path, tmp_path / "t.npz", change))

    def newer(arrays):
        meta = json.loads(str(arrays["metadata"]))
        meta.update(format=FORMAT + 1, labkit="9.0")
        arrays["metadata"] = np.array(json.dumps(meta))

    with pytest.raises(ExplanationFileError,
                       match=rf"written by labkit 9.0 in explanation format {FORMAT + 1}, newer "
                             "than this labkit .* upgrade labkit"):
        load_explanation(_rewrite(path, tmp_path / "n.npz", newer))

    pickled = tmp_path / "e.pkl"
    pickled.write_bytes(pickle.dumps(explained["gradcam"]))
    with pytest.raises(ExplanationFileError,
                       match="is a Python pickle, and labkit never unpickles"):
        load_explanation(pickled)

    def with_objects(arrays):  # np.savez pickles object arrays
        arrays["extras/segments"] = np.array([{"a": 1}, None], dtype=object)

    with pytest.raises(ExplanationFileError, match="holds a pickled object array"):
        load_explanation(_rewrite(path, tmp_path / "o.npz", with_objects))

    text = tmp_path / "notes.txt"
    text.write_text("not an explanation")
    with pytest.raises(ExplanationFileError, match=r"notes.txt is not an .npz file"):
        load_explanation(text)
    np.save(tmp_path / "map.npy", explained["lime"].saliency)
    with pytest.raises(ExplanationFileError, match="single NumPy array"):
        load_explanation(tmp_path / "map.npy")
    np.savez(tmp_path / "other.npz", x=np.zeros(3))
    with pytest.raises(ExplanationFileError, match="no labkit explanation"):
        load_explanation(tmp_path / "other.npz")
    truncated = tmp_path / "cut.npz"
    truncated.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(ExplanationFileError, match="is damaged"):
        load_explanation(truncated)
    assert issubclass(ExplanationFileError, ValueError)
    assert zipfile.is_zipfile(path)
