"""The explorer widget, headless: Run computes, display controls only redraw, cache hits."""
import numpy as np
import pytest
from skimage.transform import resize

from labkit import widgets


@pytest.fixture(scope="module")
def small_cat(chelsea):
    # Small image: cheap superpixels and masks (the model resizes it to its input).
    return (resize(chelsea, (64, 64), anti_aliasing=True) * 255).astype(np.uint8)


@pytest.fixture
def calls(monkeypatch):
    """Count explanations computed (each one calls the model)."""
    counter = {"n": 0}
    explain = widgets.explain

    def counting(*args, **kwargs):
        counter["n"] += 1
        return explain(*args, **kwargs)

    monkeypatch.setattr(widgets, "explain", counting)
    return counter


def test_run_then_display_changes_redraw_without_the_model(random_mobilenet, small_cat, calls,
                                                           capsys):
    ex = widgets.explorer("lime", models=[random_mobilenet], images={"cat": small_cat},
                          num_samples=40, n_segments=12)
    seen = []
    ex.progress.observe(lambda change: seen.append(change["new"]), "value")
    assert calls["n"] == 0 and ex.view.value == b""  # building computes nothing
    assert ex.view.layout.display == "none"  # no broken-image icon before the first Run

    ex.run_button.click()
    assert ex.run_button.description == "Run"
    assert calls["n"] == 1
    assert ex.explanation.params["num_samples"] == 40
    assert ex.explanation.params["n_segments"] == 12
    # 40 samples in batches of 32: the bar went through 0, 1, 2 of 2 batches.
    assert ex.progress.max == 2 and seen[-1] == 2 and 1 in seen
    assert bytes(ex.view.value).startswith(b"\x89PNG") and ex.view.layout.display is None
    assert ex.explanation.target_name in ex.status.value

    shown, explained = bytes(ex.view.value), ex.explanation
    for name, value in [("cmap", "viridis"), ("alpha", 0.9), ("num_features", 2),
                        ("superpixels", "both"), ("hide_rest", True)]:
        ex.controls[name].value = value
        assert ex.view.value != shown, name
        shown = bytes(ex.view.value)
    assert calls["n"] == 1 and ex.explanation is explained

    ex.controls["num_samples"].value = 20
    ex.controls["seed"].value = 1
    assert calls["n"] == 1 and ex.view.value == shown  # nothing until Run
    assert "Run" in ex.status.value
    ex.run_button.click()
    assert calls["n"] == 2
    assert ex.explanation.params["num_samples"] == 20 and ex.explanation.params["seed"] == 1

    ex.controls["num_samples"].value = 40
    ex.controls["seed"].value = 0
    ex.run_button.click()
    assert calls["n"] == 2  # same settings as the first run: from the cache
    assert ex.explanation is explained and "cache" in ex.status.value
    assert capsys.readouterr().out == ""  # nbval compares outputs: callbacks print nothing


def test_lime_hide_color_choices(random_mobilenet, small_cat):
    ex = widgets.explorer("lime", models=[random_mobilenet], images=small_cat, baseline=0)
    assert ex.controls["baseline"].value == "black" and ex.params()["baseline"] == 0
    assert ex.controls["custom_color"].disabled
    ex.controls["baseline"].value = "mean (None)"
    assert ex.params()["baseline"] is None
    ex.controls["baseline"].value = "custom"
    ex.controls["custom_color"].value = "#102030"
    assert not ex.controls["custom_color"].disabled
    assert ex.params()["baseline"] == (16, 32, 48)
    ex = widgets.explorer("lime", models=[random_mobilenet], images=small_cat,
                          baseline=(255, 0, 0))
    assert ex.params()["baseline"] == (255, 0, 0)


def test_rise_controls_reach_the_explainer(random_mobilenet, small_cat, calls):
    ex = widgets.explorer("rise", models=[random_mobilenet], images={"cat": small_cat},
                          num_masks=8, grid_size=4, p1=0.3, seed=3)
    ex.run_button.click()
    e = ex.explanation
    assert (e.method, e.params["num_masks"], e.params["grid_size"], e.params["seed"]) == \
        ("rise", 8, 4, 3)
    assert e.params["p1"] == pytest.approx(0.3)
    assert ex.progress.value == ex.progress.max == 1
    assert calls["n"] == 1


def test_cam_layer_choices_follow_the_model(random_mobilenet, small_cat):
    ex = widgets.explorer("gradcam", models=[random_mobilenet], images=small_cat)
    layer = ex.controls["layer"]
    assert layer.value == random_mobilenet.layer
    assert len(layer.options) > 1
    other = [name for name in layer.options if name != layer.value][-1]
    layer.value = other
    ex.run_button.click()
    assert ex.explanation.extras["layer"] == other

    ex = widgets.explorer("fem", models=[random_mobilenet], images=small_cat, k=1.5)
    assert "seed" not in ex.controls  # deterministic methods show no seed box
    ex.run_button.click()
    assert ex.explanation.params["k"] == 1.5
    assert ex.explanation.params["layer"] == random_mobilenet.layer


def test_bad_settings_show_in_the_status_line(random_mobilenet):
    tiny = np.full((16, 16, 3), 100, np.uint8)
    ex = widgets.explorer("rise", models=[random_mobilenet], images=tiny, num_masks=4,
                          grid_size=20)
    ex.run_button.click()
    assert "grid_size" in ex.status.value and ex.explanation is None
    assert not ex.run_button.disabled


def test_bad_arguments_are_named(random_mobilenet, small_cat):
    with pytest.raises(ValueError, match="unknown method 'shap'"):
        widgets.explorer("shap", models=[random_mobilenet], images=small_cat)
    with pytest.raises(TypeError, match="no control 'num_masks'"):
        widgets.explorer("lime", models=[random_mobilenet], images=small_cat, num_masks=3)
    with pytest.raises(ValueError, match="images="):
        widgets.explorer("lime", models=[random_mobilenet])
    with pytest.raises(ValueError, match="image 'x'"):
        widgets.explorer("lime", models=[random_mobilenet], images={"x": np.zeros((4, 4, 3))})


def test_models_sharing_a_name_get_distinct_entries(random_mobilenet, small_cat):
    ex = widgets.explorer("gradcam", models=[random_mobilenet, random_mobilenet],
                          images=small_cat)
    assert ex.controls["model"].options == ("mobilenet", "mobilenet (2)")
