"""Bad input to every public function: labkit's own error, raised by labkit's code, naming
the parameter; and results that would mean nothing are an error or a warning, never a
silent number.

Each table row is (call, exception type, words the message must contain). The
assertion helper checks the type, that the traceback's last frame lies inside the
labkit package (not numpy, TensorFlow, Keras or Python's library), that the message
names what it must and that it is one line.
"""
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import labkit
from labkit import explain, load_image, load_model, sample_image
from labkit._checks import check_image
from labkit._tf import keras
from labkit.explainers import (
    ParameterError,
    UnreliableResultWarning,
    get_explainer,
    lime_mask,
    list_methods,
    segment,
)
from labkit.metrics import (
    ConstantMapWarning,
    complexity,
    deletion,
    evaluate,
    insertion,
    iou,
    pcc,
    pointing_game,
    road,
    score,
    sparseness,
    ssim,
    summarize,
)
from labkit.models import Classifier, conv_layer_names

PACKAGE = Path(labkit.__file__).resolve().parent


def raised_in_labkit(error, call, *words):
    """Call ``call()``; assert it raises ``error`` from a frame of labkit's own code, with
    a one-line message containing every one of ``words``. Returns the exception."""
    with pytest.raises(error) as info:
        call()
    tb = info.tb
    while tb.tb_next is not None:
        tb = tb.tb_next
    where = Path(tb.tb_frame.f_code.co_filename).resolve()
    assert PACKAGE in where.parents, f"{type(info.value).__name__} raised in {where}: {info.value}"
    message = str(info.value)
    assert "\n" not in message, message
    for word in words:
        assert word in message, f"{word!r} not in {message!r}"
    return info.value


@pytest.fixture(scope="module")
def model():
    return load_model("efficientnet_lite0")


@pytest.fixture(scope="module")
def image():
    return sample_image("elephant_grass", size=224)


@pytest.fixture(scope="module")
def other_image():
    return sample_image("chelsea", size=224)


@pytest.fixture(scope="module")
def gradcam(model, image):
    return explain(model, image, "gradcam")


# -- explain ---------------------------------------------------------------------------
EXPLAIN = [
    (dict(model="efficientnet_lite0"), ParameterError, ["model", "str", "load_model"]),
    (dict(model=None), ParameterError, ["model", "NoneType"]),
    (dict(image="photo.jpg"), ParameterError, ["image", "numpy array", "load_image"]),
    (dict(image=np.zeros((224, 224))), ParameterError, ["image", "(H, W, 3)"]),
    (dict(image=np.zeros((2, 224, 224, 3))), ParameterError, ["image", "a batch"]),
    (dict(image=np.zeros((4, 4, 3), np.uint8)), ParameterError, ["image", "at least 8x8"]),
    (dict(image=np.full((32, 32, 3), np.nan)), ParameterError, ["image", "NaN"]),
    (dict(image=np.full((32, 32, 3), 0.5)), ParameterError, ["image", "[0, 1]", "255"]),
    (dict(image=np.full((32, 32, 3), 1.02)), ParameterError, ["image", "[0, 1]", "1.02"]),
    (dict(image=np.full((32, 32, 3), 300.0)), ParameterError, ["image", "[0, 255]"]),
    (dict(image=np.zeros((32, 32, 3), np.int64)), ParameterError, ["image", "dtype int64"]),
    (dict(method="shap"), ParameterError, ["method", "'shap'", "gradcam"]),
    (dict(method=None), ParameterError, ["method", "None"]),
    (dict(seed=-1), ParameterError, ["seed", "-1"]),
    (dict(seed=2**32), ParameterError, ["seed"]),
    (dict(seed=0.5), ParameterError, ["seed", "0.5"]),
    (dict(target="kitten"), ValueError, ["kitten"]),
    (dict(target=5000), ValueError, ["5000"]),
    (dict(target=[1]), TypeError, ["target", "[1]"]),
    (dict(colour=3), ParameterError, ["colour", "gradcam"]),
]


@pytest.mark.parametrize("change, error, words", EXPLAIN)
def test_explain_refuses_bad_arguments(model, image, change, error, words):
    args = dict(model=model, image=image, method="gradcam")
    args.update(change)
    raised_in_labkit(error, lambda: explain(args.pop("model"), args.pop("image"),
                                            args.pop("method"), **args), *words)


def _bad_values(param):
    """Values outside what ``param`` (a record's Param) accepts, from its own bounds."""
    kind = param.kind
    if kind == "int":
        values = ["2", 2.5, True, float("nan")]
        values += [] if param.low is None else [int(param.low) - 1]
        values += [] if param.high is None else [int(param.high) + 1]
        return values
    if kind == "float":
        values = ["wide", float("inf"), float("nan"), True, [1.0]]
        values += [] if param.low is None else [param.low - 1]
        values += [] if param.high is None else [param.high * 2 + 1]
        return values
    if kind == "choice":
        return ["no such choice", 3]
    if kind == "color":
        return ["red", (0, 0), (0, 0, 300), -1, [0, "a", 0]]
    if kind == "layer":
        return [3, ""]
    if kind == "bool":
        return ["yes", 1]
    return []  # arrays: checked against the image by the method itself


PARAM_CASES = [(name, p.name, value) for name in list_methods()
               for p in get_explainer(name).params for value in _bad_values(p)]


@pytest.mark.parametrize("method, name, value", PARAM_CASES,
                         ids=[f"{m}-{n}-{v!r}" for m, n, v in PARAM_CASES])
def test_every_explainer_parameter_is_checked_from_its_record(model, image, method, name, value):
    raised_in_labkit(ParameterError, lambda: explain(model, image, method, **{name: value}),
                     method, name)


@pytest.mark.parametrize("method, name", [(m, p.name) for m in list_methods()
                                          for p in get_explainer(m).params
                                          if p.limit is not None])
def test_laptop_limits_hold_unless_allow_slow(model, image, method, name):
    limit = int(get_explainer(method).param(name).limit)
    raised_in_labkit(ParameterError, lambda: explain(model, image, method, **{name: limit + 1}),
                     name, str(limit + 1), "allow_slow=True")


@pytest.mark.parametrize("method, name", [("lime", "num_samples"), ("rise", "num_masks")])
def test_allow_slow_refuses_what_cannot_fit_in_memory(model, image, method, name):
    raised_in_labkit(ParameterError, lambda: explain(model, image, method, allow_slow=True,
                                                     **{name: 10**12}),
                     method, f"{name}={10**12}", "memory", "fewer")


def test_lime_segments_array_is_checked_against_the_image(model, image):
    raised_in_labkit(ParameterError, lambda: explain(model, image, "lime",
                                                     segments=np.zeros((10, 10), int)),
                     "segments", "(224, 224)")
    labels = np.zeros((224, 224), int)
    labels[0, 0] = 10**9  # a label per pixel at most: bincount would allocate gigabytes
    raised_in_labkit(ParameterError, lambda: explain(model, image, "lime", segments=labels),
                     "segments", "0..K-1")


def test_grad_cam_on_a_preprocessing_layer_or_without_gradient_path(image):
    inputs = keras.Input((32, 32, 3))
    x = keras.layers.Rescaling(1 / 255.0, name="scale")(inputs)
    conv = keras.layers.Conv2D(4, 3, name="conv")(x)
    blocked = keras.layers.Lambda(keras.ops.stop_gradient, name="blocked")(conv)
    logits = keras.layers.Dense(2)(keras.layers.GlobalAveragePooling2D()(blocked))
    blocked_model = Classifier(keras.Model(inputs, logits), name="blocked",
                               preprocess=lambda t: t, input_range=(0, 255),
                               target_layer="conv", class_names=["a", "b"],
                               backend="tensorflow")
    assert conv_layer_names(blocked_model.model) == ["conv", "blocked"]
    small = image[:32, :32]
    for method in ("gradcam", "gradcam_plus_plus"):
        raised_in_labkit(ParameterError, lambda m=method: explain(blocked_model, small, m),
                         method, "'conv'", "no gradient path")
    raised_in_labkit(ParameterError, lambda: explain(blocked_model, small, "gradcam",
                                                     layer="scale"),
                     "'scale'", "Rescaling", "only prepares the pixels")
    for method in ("integrated_gradients", "smoothgrad"):
        raised_in_labkit(ParameterError, lambda m=method: explain(blocked_model, small, m),
                         "blocked", "no gradient path to the pixels", "LIME or RISE")
    # No convolution at all: the Rescaling layer is not offered as the CAM layer.
    flat = keras.layers.Dense(2)(keras.layers.Flatten()(x))
    dense_model = Classifier(keras.Model(inputs, flat), name="dense", preprocess=lambda t: t,
                             input_range=(0, 255), target_layer=None, class_names=["a", "b"],
                             backend="tensorflow")
    assert conv_layer_names(dense_model.model) == []
    for method in ("gradcam", "fem"):
        raised_in_labkit(ParameterError, lambda m=method: explain(dense_model, small, m),
                         "'dense'", "no convolutional layer", "LIME or RISE")


# -- LIME: meaningless results ----------------------------------------------------------
def test_lime_baseline_that_hides_nothing_is_refused(model):
    rng = np.random.default_rng(0)
    tiny = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
    one_pixel_each = np.arange(64).reshape(8, 8)  # each superpixel one pixel: its own mean
    raised_in_labkit(ParameterError,
                     lambda: explain(model, tiny, "lime", segments=one_pixel_each),
                     "lime", "baseline=None", "hides nothing", "baseline=0")
    grey = np.full((16, 16, 3), 128, np.uint8)
    raised_in_labkit(ParameterError, lambda: explain(model, grey, "lime", baseline=128,
                                                     n_segments=4),
                     "baseline=128", "hides nothing")
    # A colour baseline hides the same tiny image fine.
    e = explain(model, tiny, "lime", segments=one_pixel_each, baseline=0, num_samples=200)
    assert np.abs(e.saliency).max() > 0


def test_lime_one_sample_is_refused_few_samples_warn(model, image):
    raised_in_labkit(ParameterError, lambda: explain(model, image, "lime", num_samples=1),
                     "num_samples", ">= 2", "got 1")
    with pytest.warns(UnreliableResultWarning, match=r"num_samples=8 is not more than the \d+ "
                                                     r"superpixels.*at least \d+"):
        explain(model, image, "lime", num_samples=8, n_segments=20)


def test_lime_all_zero_weights_warn(image):
    """A classifier whose scores ignore the image: every weight is 0, and LIME says so."""
    inputs = keras.Input((32, 32, 3))
    logits = keras.layers.Dense(2, kernel_initializer="zeros", bias_initializer="ones")(
        keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(2, 3)(inputs)))
    blind = Classifier(keras.Model(inputs, logits), name="blind", preprocess=lambda t: t,
                       input_range=(0, 255), target_layer=None, class_names=["a", "b"],
                       backend="tensorflow")
    with pytest.warns(UnreliableResultWarning, match="every weight of class 0 is 0"):
        explain(blind, image[:32, :32], "lime", num_samples=64, n_segments=8, target=0)


# -- lime_mask, segment ----------------------------------------------------------------
def test_lime_mask_refuses_bad_arguments(model, image, gradcam):
    lime = explain(model, image, "lime", num_samples=64, n_segments=20)
    rows = [
        (lambda: lime_mask("lime"), ParameterError, ["explanation", "str"]),
        (lambda: lime_mask(gradcam), ParameterError, ["explanation", "'gradcam'"]),
        (lambda: lime_mask(lime, num_features=0), ParameterError, ["num_features"]),
        (lambda: lime_mask(lime, target="cat"), ParameterError, ["target", "'cat'"]),
        (lambda: lime_mask(lime, target=7), ParameterError, ["class 7", "top_labels"]),
        (lambda: lime_mask(lime, positive_only=True, negative_only=True), ParameterError,
         ["positive_only", "negative_only"]),
        (lambda: lime_mask(lime, min_weight="big"), ParameterError, ["min_weight"]),
        (lambda: lime_mask(lime, colour=1), ParameterError, ["colour"]),
    ]
    for call, error, words in rows:
        raised_in_labkit(error, call, *words)


@pytest.mark.parametrize("kwargs, words", [
    (dict(method="watershed"), ["segment", "segmentation", "'watershed'"]),
    (dict(n_segments=1), ["segment", "n_segments", "got 1"]),
    (dict(n_segments="50"), ["segment", "n_segments"]),
    (dict(compactness=-1.0), ["segment", "compactness", "-1"]),
    (dict(compactness=float("inf")), ["segment", "compactness", "finite"]),
    (dict(method="quickshift", seed=-1), ["seed", "-1"]),
])
def test_segment_refuses_bad_arguments(image, kwargs, words):
    raised_in_labkit(ParameterError, lambda: segment(image, **kwargs), *words)


def test_segment_checks_the_image():
    raised_in_labkit(ParameterError, lambda: segment("photo.jpg"), "image", "numpy array")


# -- load_model, load_image, sample_image -----------------------------------------------
@pytest.mark.parametrize("args, kwargs, error, words", [
    (("resnet9000",), {}, ValueError, ["resnet9000", "efficientnet_lite0"]),
    ((5,), {}, ParameterError, ["name", "int"]),
    (("efficientnet_lite0",), dict(weights="cifar"), ValueError, ["weights", "'cifar'"]),
    (("efficientnet_lite0",), dict(batch_size=0), ValueError, ["batch_size", "0"]),
    (("no_such_model.keras",), {}, FileNotFoundError, ["no_such_model.keras"]),
])
def test_load_model_refuses_bad_arguments(args, kwargs, error, words):
    raised_in_labkit(error, lambda: load_model(*args, **kwargs), *words)


def test_load_model_refuses_a_folder_and_a_foreign_file(tmp_path):
    raised_in_labkit(ValueError, lambda: load_model(tmp_path), str(tmp_path), "folder")
    text = tmp_path / "notes.keras"
    text.write_text("not a model")
    raised_in_labkit(ValueError, lambda: load_model(text), "notes.keras", "not a valid .keras")


@pytest.mark.parametrize("source, kwargs, error, words", [
    ("no_such_photo.jpg", {}, FileNotFoundError, ["no_such_photo.jpg"]),
    (5, {}, TypeError, ["int"]),
    (b"not an image", {}, ValueError, ["not an image"]),
    (np.zeros((0, 0, 3)), {}, ValueError, ["empty"]),
    (np.zeros((4, 4, 5)), {}, ValueError, ["(H, W, 3)"]),
    (np.full((4, 4, 3), 1.5), {}, ValueError, ["1.5", "numpy.clip"]),
    (np.full((4, 4, 3), np.inf), {}, ValueError, ["NaN or infinite"]),
    (np.zeros((4, 4, 3), np.uint8), dict(size=-3), ParameterError, ["size", "-3"]),
    (np.zeros((4, 4, 3), np.uint8), dict(size="big"), TypeError, ["size", "'big'"]),
])
def test_load_image_refuses_bad_sources(source, kwargs, error, words):
    raised_in_labkit(error, lambda: load_image(source, **kwargs), *words)


@pytest.mark.parametrize("name, kwargs, error, words", [
    ("nope", {}, KeyError, ["nope", "chelsea"]),
    ({"name": "chelsea"}, {}, KeyError, ["{'name': 'chelsea'}", "chelsea"]),
    ("chelsea", dict(size=0), ParameterError, ["size", "0"]),
])
def test_sample_image_refuses_bad_names(name, kwargs, error, words):
    raised_in_labkit(error, lambda: sample_image(name, **kwargs), *words)


# -- similarity metrics ------------------------------------------------------------------
MAP = np.random.default_rng(0).random((24, 24))
MASK = np.zeros((24, 24), bool)
MASK[5:10, 5:10] = True
SIMILARITY = [
    (lambda: pcc(np.zeros((0, 0)), np.zeros((0, 0))), ParameterError, ["saliency", "empty"]),
    (lambda: pcc(MAP, np.zeros((24, 0))), ParameterError, ["ground_truth", "empty"]),
    (lambda: pcc("map", MAP), ParameterError, ["saliency", "str"]),
    (lambda: pcc(MAP[None], MAP), ParameterError, ["saliency", "2-D"]),
    (lambda: pcc(MAP, MAP.astype(complex)), ParameterError, ["ground_truth", "complex"]),
    (lambda: pcc(np.full((24, 24), np.nan), MAP), ParameterError, ["saliency", "NaN"]),
    (lambda: pcc(MAP, MAP[:10]), ParameterError, ["saliency", "ground_truth", "resize=True"]),
    (lambda: ssim(MAP, MAP, sigma=-1), ParameterError, ["ssim", "sigma", "-1"]),
    (lambda: ssim(MAP, MAP, data_range=float("nan")), ParameterError, ["data_range"]),
    (lambda: ssim(MAP[:5, :5], MAP[:5, :5]), ParameterError, ["ssim", "window", "sigma"]),
    (lambda: ssim(MAP, MAP, sigma=1e308), ParameterError, ["ssim", "window"]),
    (lambda: iou(MAP, MAP), ParameterError, ["mask", "0 and 1"]),
    (lambda: iou(MAP, MASK[:10]), ParameterError, ["mask", "shape", "nearest"]),
    (lambda: iou(MAP, np.zeros((24, 24), bool)), ParameterError, ["mask", "empty"]),
    (lambda: iou(MAP, MASK, threshold=1.5), ParameterError, ["threshold", "1.5"]),
    (lambda: iou(MAP, [[True]]), ParameterError, ["mask", "list"]),
    (lambda: pointing_game(MAP, MASK, tolerance=-1), ParameterError, ["tolerance", "-1"]),
    (lambda: pointing_game(MAP, MASK, tolerance="far"), ParameterError, ["tolerance"]),
    (lambda: pointing_game(np.zeros((0, 24)), MASK), ParameterError, ["saliency", "empty"]),
    (lambda: sparseness("map"), ParameterError, ["str"]),
    (lambda: sparseness(np.zeros((0, 3))), ParameterError, ["empty"]),
    (lambda: complexity(np.full((4, 4), np.nan)), ParameterError, ["NaN"]),
]


@pytest.mark.parametrize("call, error, words", SIMILARITY)
def test_similarity_metrics_refuse_bad_input(call, error, words):
    raised_in_labkit(error, call, *words)


# -- insertion and deletion ------------------------------------------------------------
@pytest.mark.parametrize("curve", [insertion, deletion])
def test_curves_refuse_bad_input(model, image, gradcam, curve):
    rows = [
        (lambda: curve("efficientnet_lite0", image, gradcam), ["model", "str", curve.__name__]),
        (lambda: curve(model, image[..., 0], gradcam), ["image", "(H, W, 3)"]),
        (lambda: curve(model, image, gradcam.saliency[:100]), ["saliency", "(100, 224)"]),
        (lambda: curve(model, image, np.zeros((0, 0))), ["saliency", "empty"]),
        (lambda: curve(model, image, gradcam, steps=0), ["steps", "0"]),
        (lambda: curve(model, image, gradcam, steps=10**9), ["steps", "at most 50176"]),
        (lambda: curve(model, image, gradcam, batch_size=-2), ["batch_size", "-2"]),
    ]
    for call, words in rows:
        raised_in_labkit(ParameterError, call, *words)
    raised_in_labkit(ValueError, lambda: curve(model, image, gradcam, baseline="red"),
                     "baseline", "'red'")
    raised_in_labkit(ValueError, lambda: curve(model, image, gradcam.saliency, target="kitten"),
                     "kitten")


def test_curves_refuse_the_explanation_of_another_image(model, image, other_image, gradcam):
    for curve in (insertion, deletion, road):
        raised_in_labkit(ParameterError, lambda c=curve: c(model, other_image, gradcam),
                         curve.__name__, "explanation is of another image", "explanation.image")


def test_curves_of_a_constant_map_are_nan_with_a_warning_and_no_model_call(image):
    class Counting(Classifier):
        calls = 0

        def predict_masked(self, *args, **kwargs):
            Counting.calls += 1
            return super().predict_masked(*args, **kwargs)

        def predict(self, *args, **kwargs):
            Counting.calls += 1
            return super().predict(*args, **kwargs)

    inputs = keras.Input((32, 32, 3))
    logits = keras.layers.Dense(2)(keras.layers.GlobalAveragePooling2D()(inputs))
    counting = Counting(keras.Model(inputs, logits), name="counting", preprocess=lambda t: t,
                        input_range=(0, 255), target_layer=None, class_names=["a", "b"],
                        backend="tensorflow")
    for curve in (insertion, deletion):
        with pytest.warns(ConstantMapWarning, match="saliency is constant"):
            result = curve(counting, image[:32, :32], np.zeros((32, 32)), target=0, steps=4)
        assert np.isnan(result.auc) and np.isnan(result.scores).all()
        assert len(result.fractions) == 5
    with pytest.warns(ConstantMapWarning, match="explanation is constant"):
        result = road(counting, image[:32, :32], np.ones((32, 32)), target=0)
    assert np.isnan(result.auc) and np.isnan(result.scores).all()
    assert Counting.calls == 0


# -- evaluate, score, summarize ----------------------------------------------------------
def test_evaluate_refuses_bad_arguments_before_any_explanation(model, image, tmp_path):
    def run(**change):
        args = dict(methods=["gradcam"], metrics=["insertion"], progress=False)
        args.update(change)
        images = args.pop("images", [image])
        return lambda: evaluate(args.pop("model", model), images, **args)

    afile = tmp_path / "a_file"
    afile.write_text("x")
    rows = [
        (run(images=[]), ["images", "empty"]),
        (run(images=5), ["images", "int"]),
        (run(images=image), ["images", "[image]"]),
        (run(images=[image, image[..., 0]]), ["images[1]", "(H, W, 3)"]),
        (run(methods=["shap"]), ["method", "'shap'"]),
        (run(methods=[]), ["methods", "empty"]),
        (run(metrics=["accuracy"]), ["metric", "'accuracy'"]),
        (run(method_params={"gradcam": {"layer": 3}}), ["gradcam", "layer", "3"]),
        (run(method_params={"rise": {"num_masks": -1}}, methods=["rise"]), ["num_masks", "-1"]),
        (run(method_params=[("rise", {})]), ["method_params", "list"]),
        (run(metric_params={"insertion": {"stepz": 3}}), ["insertion", "'stepz'", "steps"]),
        (run(metric_params={"insertion": 3}), ["metric_params['insertion']", "int"]),
        (run(metric_params={"accuracy": {}}), ["metric_params", "'accuracy'"]),
        (run(seed=-1), ["seed", "-1"]),
        (run(image_ids=[1, 2]), ["image_ids", "1 distinct"]),
        (run(image_ids=[[1]]), ["image_ids", "hashable"]),
        (run(masks=[np.ones((3, 3), bool)], metrics=["iou"]), ["masks[0]", "shape"]),
        (run(ground_truths=[np.full((224, 224), np.nan)], metrics=["pcc"]),
         ["ground_truths[0]", "NaN"]),
        (run(store=afile), ["store", "a_file", "is a file"]),
        (run(model=5), ["model", "int"]),
    ]
    for call, words in rows:
        raised_in_labkit(ParameterError, call, *words)


def test_evaluate_store_in_an_unwritable_place_names_the_folder(model, image, tmp_path,
                                                                monkeypatch):
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where a folder should be")
    store = blocker / "results"
    raised_in_labkit(ParameterError, lambda: evaluate(model, [image], methods=["gradcam"],
                                                      metrics=["pcc"], progress=False,
                                                      ground_truths=[np.eye(224)],
                                                      store=store),
                     f"store {store}", "cannot be written")

    # A folder that refuses writes (as a read-only share does; root ignores chmod).
    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied", str(args[0]))
    monkeypatch.setattr(Path, "write_bytes", refuse)
    readonly = tmp_path / "readonly"
    error = raised_in_labkit(ParameterError, lambda: evaluate(
        model, [image], methods=["gradcam"], metrics=["pcc"], progress=False,
        ground_truths=[np.eye(224)], store=readonly), f"store {readonly}", "Permission denied")
    assert ".tmp" not in str(error)


def test_score_and_summarize_refuse_what_they_cannot_read(model, gradcam):
    rows = [
        (lambda: score({}), ["explanations", "non-empty"]),
        (lambda: score({"a": gradcam.saliency}), ["explanations['a']", "ndarray"]),
        (lambda: score({"a": gradcam}, metrics=["accuracy"]), ["metric", "'accuracy'"]),
        (lambda: score({"a": gradcam}, model=model,
                       metric_params={"deletion": {"step": 3}}), ["'step'", "steps"]),
        (lambda: score({"a": gradcam}, metrics=["iou"]), ["iou", "mask="]),
        (lambda: summarize([1, 2]), ["summarize", "table", "list"]),
        (lambda: summarize({"value": [1.0]}), ["summarize", "dict"]),
        (lambda: summarize(pd.DataFrame({"value": [1.0]})), ["summarize", "columns"]),
        (lambda: summarize(pd.DataFrame(columns=["image", "method", "metric", "value", "model",
                                                 "seconds"])), ["summarize", "no rows"]),
        (lambda: summarize(pd.DataFrame({"image": [0], "method": ["lime"], "metric": ["pcc"],
                                         "value": ["high"], "model": ["m"], "seconds": [1.0]})),
         ["summarize", "value", "numeric"]),
    ]
    for call, words in rows:
        raised_in_labkit(ParameterError, call, *words)


# -- plots ---------------------------------------------------------------------------------
def test_plots_show_refuses_a_map_without_its_image(gradcam):
    from labkit import plots

    raised_in_labkit(ParameterError, lambda: plots.show([gradcam, np.zeros((4, 4))]),
                     "saliency array", "image=")
    raised_in_labkit(ValueError, lambda: plots.show([]), "empty")


# -- the image check's rule ----------------------------------------------------------------
def test_a_float_image_with_max_at_most_2_is_taken_for_0_1_scaled():
    scaled = np.linspace(0, 1.02, 32 * 32 * 3).reshape(32, 32, 3)
    raised_in_labkit(ParameterError, lambda: check_image(scaled), "[0, 1]", "Multiply by 255")
    assert check_image(np.zeros((32, 32, 3))).max() == 0  # black is black
    assert check_image(np.full((32, 32, 3), 2.5)).max() == 2.5  # beyond 2: pixels
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_image(scaled / 1.02 * 255)


# -- saved models: what would run code, or cannot load, is refused before Keras reads it --
def _small_model(activation="linear"):
    inputs = keras.Input((16, 16, 3))
    x = keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(3, 3, name="conv")(inputs))
    return keras.Model(inputs, keras.layers.Dense(2, activation=activation, name="scores")(x))


def _rewrite_config(path, edit, out):
    """A copy of the .keras file ``path`` whose config.json went through ``edit``."""
    import json
    import zipfile

    with zipfile.ZipFile(path) as archive:
        config = json.loads(archive.read("config.json"))
        edit(config)
        with zipfile.ZipFile(out, "w") as copy:
            for name in archive.namelist():
                copy.writestr(name, json.dumps(config) if name == "config.json"
                              else archive.read(name))
    return out


def test_saved_model_with_a_lambda_activation_is_refused_in_every_mode(tmp_path):
    path = tmp_path / "lambda_activation.keras"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Keras warns that it saves a lambda
        _small_model(activation=lambda t: 2 * t).save(path)
    for safe_mode in (True, False):
        raised_in_labkit(ValueError, lambda s=safe_mode: load_model(
            path, class_names=["a", "b"], preprocess="none", safe_mode=s),
            "lambda_activation.keras", "'scores'", "Python lambda as its activation",
            "register_keras_serializable")


def test_saved_model_naming_a_module_outside_keras_imports_nothing(tmp_path, monkeypatch):
    marker = tmp_path / "imported"
    (tmp_path / "labkit_test_evil.py").write_text(
        f"open({str(marker)!r}, 'w').close()\nclass Layer:\n    pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    plain = tmp_path / "plain.keras"
    _small_model().save(plain)

    def foreign_layer(config):
        entry = config["config"]["layers"][-1]
        entry.update(module="labkit_test_evil", class_name="Layer", registered_name=None)

    def builtin_eval(config):
        config["config"]["layers"][-1]["config"]["activation"] = {
            "module": "builtins", "class_name": "function", "config": "eval",
            "registered_name": "function"}

    for edit, words in ((foreign_layer, ["'Layer'", "'labkit_test_evil'"]),
                        (builtin_eval, ["'eval'", "'builtins'", "layer 'scores'"])):
        path = _rewrite_config(plain, edit, tmp_path / f"{edit.__name__}.keras")
        for safe_mode in (True, False):
            raised_in_labkit(ValueError, lambda p=path, s=safe_mode: load_model(
                p, class_names=["a", "b"], preprocess="none", safe_mode=s),
                f"{edit.__name__}.keras", "Keras does not know", "never imports", *words)
    assert not marker.exists()


def test_a_registered_custom_activation_still_loads(tmp_path):
    @keras.saving.register_keras_serializable(package="labkit_test")
    def doubled(t):
        return 2 * t

    path = tmp_path / "custom_activation.keras"
    _small_model(activation=doubled).save(path)
    model = load_model(path, class_names=["a", "b"], preprocess="none", backend="tensorflow")
    assert model.class_names == ["a", "b"]
