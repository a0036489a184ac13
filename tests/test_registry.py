"""One record per explainer: a method registered through the public API is usable by
explain, evaluate, the grader and the explorer without touching those modules."""
import numpy as np
import pytest

import labkit
from labkit import widgets
from labkit.course import grade
from labkit.explainers import (
    Explainer,
    Param,
    ParameterError,
    get_explainer,
    list_methods,
    register,
    unregister,
)
from labkit.metrics import evaluate


def brightness(model, pixels, target, *, seed=0, progress=False, power=1.0, noise=0.0):
    """A toy explainer: brighter pixels matter more, plus seeded noise."""
    rng = np.random.default_rng(seed)
    grey = pixels.mean(axis=-1) / 255.0
    saliency = grey ** power + noise * rng.random(grey.shape)
    return saliency, {"grey_mean": float(grey.mean())}, {"power": power, "noise": noise}


TOY = Explainer("brightness", brightness,
                (Param("power", "float", low=0, open_low=True, high=8,
                       widget=("slider", 0.5, 4.0, 0.5)),
                 Param("noise", "float", low=0, high=1, widget=("slider", 0.0, 1.0, 0.1))),
                stochastic=True, summary="brighter is more important (a test toy)")


@pytest.fixture
def toy():
    register(TOY)
    yield TOY
    unregister("brightness")


@pytest.fixture(scope="module")
def lite0():
    return labkit.load_model("efficientnet_lite0")


@pytest.fixture(scope="module")
def elephant():
    return labkit.sample_image("elephant_waterhole", size=96)


def test_a_registered_method_works_everywhere(toy, lite0, elephant):
    assert "brightness" in list_methods() and "brightness" in labkit.list_methods()
    e = labkit.explain(lite0, elephant, "brightness", power=2.0, noise=0.1, seed=3)
    again = labkit.explain(lite0, elephant, "brightness", power=2.0, noise=0.1, seed=3)
    assert e.saliency.shape == elephant.shape[:2]
    np.testing.assert_array_equal(e.saliency, again.saliency)
    assert e.params == {"power": 2.0, "noise": 0.1, "seed": 3}

    with pytest.raises(ParameterError, match="brightness: power must be a number > 0"):
        labkit.explain(lite0, elephant, "brightness", power=-1)

    table = evaluate(lite0, [elephant], methods=["brightness"], metrics=["deletion"],
                     method_params={"brightness": {"power": 2.0}},
                     metric_params={"deletion": {"steps": 8}}, progress=False)
    assert list(table["method"]) == ["brightness"] and 0 <= table["value"][0] <= 1
    with pytest.raises(ParameterError, match="power must be a number"):
        evaluate(lite0, [elephant], methods=["brightness"], metrics=["deletion"],
                 method_params={"brightness": {"power": "high"}}, progress=False)

    assert grade.validate({"method": "brightness", "params": {"power": 3, "seed": 1}}) == {
        "method": "brightness", "params": {"power": 3, "seed": 1}, "top_percent": 20.0}
    with pytest.raises(grade.SubmissionError, match="params.noise must be a number >= 0"):
        grade.validate({"method": "brightness", "params": {"noise": -0.5}})

    ex = widgets.explorer("brightness", models=[lite0], images=elephant, power=1.5)
    assert {"power", "noise", "seed"} <= set(ex.controls)
    ex.controls["noise"].value = 0.2
    ex.run_button.click()
    assert ex.explanation.method == "brightness"
    assert ex.explanation.params["power"] == 1.5 and ex.explanation.params["noise"] == 0.2


def test_unregistered_methods_are_gone(toy):
    unregister("brightness")
    with pytest.raises(ParameterError, match="unknown method 'brightness'"):
        get_explainer("brightness")
    register(TOY)  # the fixture unregisters it


def test_a_name_is_registered_once(toy):
    with pytest.raises(ValueError, match="already registered"):
        register(TOY)
    assert register(TOY, replace=True) is TOY


def test_a_record_must_match_its_function():
    with pytest.raises(TypeError, match="must list exactly the function's keywords"):
        Explainer("bad", brightness, (Param("power", "float"),))
    with pytest.raises(TypeError, match="must take model, pixels, target, seed, progress"):
        Explainer("bad", lambda image, power=1: None, (Param("power", "float"),))
    with pytest.raises(ValueError, match="kind must be one of"):
        Param("power", "real")


def test_every_record_matches_its_method():
    for name in list_methods():
        record = get_explainer(name)
        for p in record.params:  # every default passes its own check
            if p.kind != "array":
                p.check(record.defaults[p.name], name)


def test_old_names_warn_and_still_work(lite0, elephant):
    with pytest.warns(DeprecationWarning, match="hide_color is now called baseline"):
        old = labkit.explain(lite0, elephant, "lime", num_samples=16, hide_color=0)
    new = labkit.explain(lite0, elephant, "lime", num_samples=16, baseline=0)
    np.testing.assert_array_equal(old.saliency, new.saliency)
    with pytest.raises(ParameterError, match="not both baseline and its old name hide_color"):
        labkit.explain(lite0, elephant, "lime", num_samples=16, hide_color=0, baseline=0)
    with pytest.warns(DeprecationWarning, match="label is now called target"):
        labkit.lime_mask(new, label=new.target)
    with pytest.raises(ParameterError, match="not both target and its old name label"):
        labkit.lime_mask(new, label=new.target, target=new.target)
    with pytest.warns(DeprecationWarning, match="hide_color_pixels is now called baseline_pix"):
        grey = labkit.explainers.hide_color_pixels(7, elephant)
    np.testing.assert_array_equal(grey, labkit.explainers.baseline_pixels(7, elephant))


def test_explain_settings_is_explain_once_per_setting(lite0, elephant):
    settings = {"coarse": dict(grid_size=4), "fine": dict(grid_size=8, p1=0.3)}
    calls = []
    got = labkit.explain_settings(lite0, elephant, "rise", settings, target="African elephant",
                                  seed=3, num_masks=32, progress=lambda *a: calls.append(a))
    assert list(got) == ["coarse", "fine"] and calls == [(0, 2), (1, 2), (2, 2)]
    for name, params in settings.items():
        alone = labkit.explain(lite0, elephant, "rise", target="African elephant", seed=3,
                               num_masks=32, **params)
        np.testing.assert_array_equal(got[name].saliency, alone.saliency)
        assert got[name].params == alone.params
    with pytest.raises(ParameterError, match="grid_size"):  # checked before anything runs
        labkit.explain_settings(lite0, elephant, "rise", {"ok": {}, "bad": dict(grid_size=0)},
                                progress=lambda *a: pytest.fail("ran before checking"))
    with pytest.raises(ParameterError, match="settings must be a non-empty dict"):
        labkit.explain_settings(lite0, elephant, "rise", [dict(grid_size=4)])



    with pytest.raises(ParameterError, match="allow_slow=True"):
        labkit.explain(lite0, elephant, "rise", num_masks=9000)
    record = get_explainer("rise")
    assert record.check_params({"num_masks": 9000}, allow_slow=True) == {"num_masks": 9000}
