"""Saliency metrics: similarity to a ground truth, and insertion/deletion fidelity."""
import warnings

import numpy as np
import pytest

import labkit
from labkit import Explanation
from labkit._tf import keras
from labkit.metrics import (
    ConstantMapWarning,
    CurveScore,
    baseline_image,
    deletion,
    insertion,
    iou,
    pcc,
    pointing_game,
    ssim,
)

SIZE = 32
REGION = (slice(8, 16), slice(8, 16))  # the only pixels the region model looks at


def region_model():
    """A Classifier whose class-0 logit is 20 * (mean red of REGION in [0, 1]) - 10.

    A 1x1 convolution named "red" keeps the red channel (so CAM methods have a layer),
    the crop keeps REGION, and class 1 is the opposite of class 0.
    """
    inputs = keras.Input((SIZE, SIZE, 3))
    red = keras.layers.Conv2D(1, 1, use_bias=False, name="red")(inputs)
    crop = keras.layers.Cropping2D(((8, SIZE - 16), (8, SIZE - 16)))(red)
    dense = keras.layers.Dense(2, name="logits")
    outputs = dense(keras.layers.GlobalAveragePooling2D()(crop))
    model = keras.Model(inputs, outputs)
    model.get_layer("red").set_weights([np.array([1.0, 0.0, 0.0]).reshape(1, 1, 3, 1)])
    dense.set_weights([np.array([[10.0, -10.0]]), np.array([-5.0, 5.0])])
    return labkit.Classifier(model, name="region", preprocess=lambda x: x / 255.0,
                             input_range=(0, 1), layer="red", class_names=["on", "off"],
                             batch_size=8)


def region_image(seed=0, red_outside=True):
    """Random pixels with a pure red REGION; ``red_outside=False`` zeroes red elsewhere."""
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8)
    if not red_outside:
        image[..., 0] = 0
    image[REGION + (0,)] = 255
    return image


def region_mask():
    mask = np.zeros((SIZE, SIZE), bool)
    mask[REGION] = True
    return mask


@pytest.fixture(scope="module")
def model():
    return region_model()


@pytest.fixture(scope="module")
def smooth_map():
    rows, cols = np.mgrid[:48, :64]
    return np.exp(-((rows - 20) ** 2 + (cols - 40) ** 2) / 200.0) + 0.3 * np.sin(cols / 5.0)


# -- PCC and SSIM -------------------------------------------------------------------
def test_pcc_of_identical_and_inverted_maps(smooth_map):
    assert pcc(smooth_map, smooth_map) == pytest.approx(1.0)
    assert pcc(smooth_map, -smooth_map) == pytest.approx(-1.0)
    noise = np.random.default_rng(0).random(smooth_map.shape)
    assert abs(pcc(noise, smooth_map)) < 0.1


def test_ssim_of_identical_maps_is_one_and_penalises_structure(smooth_map):
    assert ssim(smooth_map, smooth_map) == pytest.approx(1.0)
    noise = np.random.default_rng(0).random(smooth_map.shape)
    assert ssim(smooth_map + 0.3 * noise, smooth_map) < 0.9
    assert ssim(-smooth_map, smooth_map) < 0


def test_pcc_and_ssim_are_invariant_to_the_minmax_normalisation(smooth_map):
    other = np.roll(smooth_map, 5, axis=1) ** 2
    for metric in (pcc, ssim):
        ref = metric(smooth_map, other)
        assert metric(3.0 * smooth_map - 7.0, 0.01 * other + 2) == pytest.approx(ref, abs=1e-12)
    # Normalising only min-max, not by the mean: a shifted copy with another minimum differs.
    clipped = np.maximum(smooth_map, np.median(smooth_map))
    assert ssim(clipped, other) != pytest.approx(ssim(smooth_map, other), abs=1e-3)


def test_ssim_uses_wang_et_al_constants(smooth_map):
    from skimage.metrics import structural_similarity

    a = (smooth_map - smooth_map.min()) / np.ptp(smooth_map)
    b = np.roll(a, 3, axis=0)
    expected = structural_similarity(a, b, data_range=1.0, gaussian_weights=True, sigma=1.5,
                                     use_sample_covariance=False)
    assert ssim(smooth_map, np.roll(smooth_map, 3, axis=0)) == pytest.approx(expected)
    assert ssim(a, b, data_range=2.0) != pytest.approx(expected)


def test_constant_map_gives_nan_with_a_warning(smooth_map):
    flat = np.full(smooth_map.shape, 0.5)
    mask = np.zeros(smooth_map.shape, bool)
    mask[10:20, 30:50] = True
    for call in (lambda: pcc(flat, smooth_map), lambda: ssim(smooth_map, flat),
                 lambda: iou(flat, mask), lambda: pointing_game(flat, mask)):
        with pytest.warns(ConstantMapWarning, match="constant"):
            assert np.isnan(call())


def test_shape_mismatch_names_both_shapes_and_resize(smooth_map):
    half = smooth_map[::2, ::2]
    with pytest.raises(ValueError, match=r"\(48, 64\).*\(24, 32\).*resize=True"):
        pcc(smooth_map, half)
    assert pcc(smooth_map, half, resize=True) > 0.99
    assert ssim(smooth_map, half, resize=True) > 0.9


def test_nan_or_inf_in_a_map_is_rejected(smooth_map):
    bad = smooth_map.copy()
    bad[3, 4] = np.nan
    with pytest.raises(ValueError, match="saliency contains NaN or infinite"):
        pcc(bad, smooth_map)
    bad[3, 4] = np.inf
    with pytest.raises(ValueError, match="ground_truth contains NaN or infinite"):
        ssim(smooth_map, bad)
    with pytest.raises(ValueError, match="2-D map"):
        pcc(np.zeros((4, 4, 3)), np.zeros((4, 4)))


def test_metrics_accept_an_explanation_and_never_mutate(smooth_map):
    copy = smooth_map.astype(np.float32)
    e = Explanation("x", copy, np.zeros(smooth_map.shape + (3,), np.uint8), 0, "a", 1.0, "m")
    assert pcc(e, smooth_map) == pytest.approx(1.0, abs=1e-6)
    np.testing.assert_array_equal(copy, smooth_map.astype(np.float32))


# -- IoU and pointing game ------------------------------------------------------------
def test_iou_on_a_known_case():
    mask = np.zeros((10, 10), bool)
    mask[:2] = True                              # the top 20 pixels
    saliency = np.zeros((10, 10))
    saliency[1:3] = 1.0                          # 20 pixels, 10 of them on the object
    assert iou(saliency, mask) == pytest.approx(10 / 30)
    assert iou(mask.astype(float), mask) == 1.0
    # threshold=0.1: the 10 most salient pixels, row 1 (ties in raster order), all inside.
    assert iou(saliency, mask, threshold=0.1) == pytest.approx(10 / 20)
    with pytest.raises(ValueError, match="open interval"):
        iou(saliency, mask, threshold=1.5)
    with pytest.raises(ValueError, match="empty"):
        iou(saliency, np.zeros((10, 10), bool))
    with pytest.raises(ValueError, match="only 0 and 1"):
        iou(saliency, saliency * 0.5)


def test_pointing_game_hit_miss_and_tolerance():
    mask = np.zeros((20, 20), bool)
    mask[5:10, 5:10] = True
    saliency = np.zeros((20, 20))
    saliency[7, 7] = 1.0
    assert pointing_game(saliency, mask) == 1.0
    saliency[7, 7], saliency[7, 13] = 0.0, 1.0   # 4 pixels right of the object
    assert pointing_game(saliency, mask) == 0.0
    assert pointing_game(saliency, mask, tolerance=3) == 0.0
    assert pointing_game(saliency, mask, tolerance=4) == 1.0
    with pytest.raises(ValueError, match=r"mask has shape \(10, 10\).*\(20, 20\)"):
        pointing_game(saliency, mask[:10, :10])


# -- insertion and deletion -----------------------------------------------------------
def test_oracle_map_beats_random_on_insertion_and_deletion(model):
    image = region_image()
    oracle = region_mask().astype(float)
    noise = np.random.default_rng(1).random((SIZE, SIZE))
    kw = dict(target=0, steps=16, baseline="black")
    ins_o, ins_r = insertion(model, image, oracle, **kw), insertion(model, image, noise, **kw)
    del_o, del_r = deletion(model, image, oracle, **kw), deletion(model, image, noise, **kw)
    assert ins_o.auc > 0.9 and ins_r.auc < 0.7
    assert del_o.auc < 0.1 and del_r.auc > 0.3
    assert ins_o.higher_is_better and not del_o.higher_is_better
    assert (ins_o.metric, del_o.metric, ins_o.target) == ("insertion", "deletion", 0)


def test_curve_points_are_the_perturbed_images(model):
    image = region_image()
    oracle = region_mask().astype(float)
    curve = deletion(model, image, oracle, target=0, steps=16, baseline="black")
    assert isinstance(curve, CurveScore) and len(curve.scores) == 17
    np.testing.assert_allclose(curve.fractions, np.linspace(0, 1, 17))
    # 1024 pixels / 16 steps = 64 per step = exactly REGION: most salient goes first.
    no_region = image.copy()
    no_region[REGION] = 0
    p_full, p_gone = model.predict(np.stack([image, no_region]))[:, 0]
    assert curve.scores[0] == pytest.approx(p_full, abs=1e-5)
    assert curve.scores[1] == pytest.approx(p_gone, abs=1e-5)
    # The reference code's normalised AUC for equal steps (eclique/RISE, evaluation.py).
    s = curve.scores
    assert curve.auc == pytest.approx((s.sum() - s[0] / 2 - s[-1] / 2) / (len(s) - 1))
    with pytest.raises(ValueError):
        curve.scores[0] = 1.0  # read-only: the result is frozen


def test_insertion_starts_at_the_baseline_and_ends_at_the_image(model):
    image = region_image()
    saliency = np.random.default_rng(2).random((SIZE, SIZE))
    for baseline in ("blur", "mean", (10, 200, 30)):
        start = baseline_image(image, baseline)
        curve = insertion(model, image, saliency, target=0, steps=4, baseline=baseline)
        p_start, p_image = model.predict(np.stack([start, image.astype(np.float32)]))[:, 0]
        assert curve.scores[0] == pytest.approx(p_start, abs=1e-5)
        assert curve.scores[-1] == pytest.approx(p_image, abs=1e-5)


def test_baseline_images():
    image = region_image()
    blurred = baseline_image(image, "blur")
    assert blurred.shape == image.shape and blurred.dtype == np.float32
    assert blurred.std() < 0.8 * image.std()
    assert abs(blurred.mean() - image.mean()) < 1.0
    assert (baseline_image(image, "black") == 0).all()
    np.testing.assert_allclose(baseline_image(image, "mean")[5, 5], image.mean(axis=(0, 1)),
                               rtol=1e-5)
    np.testing.assert_array_equal(baseline_image(image, 128)[0, 0], [128, 128, 128])
    for bad in ("grey", (0, 0, 300), (1, 2)):
        with pytest.raises(ValueError, match="baseline must be 'blur', 'black', 'mean'"):
            baseline_image(image, bad)


def test_ties_are_broken_in_raster_order(model):
    image = region_image()
    kw = dict(target=0, steps=8, baseline="black")
    plateaus = np.zeros((SIZE, SIZE))
    plateaus[:SIZE // 2] = 1  # two plateaus, the top one first: raster order overall
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        flat = deletion(model, image, plateaus, **kw)
    raster = deletion(model, image, -np.arange(SIZE * SIZE).reshape(SIZE, SIZE), **kw)
    np.testing.assert_array_equal(flat.scores, raster.scores)
    # A constant map ranks nothing: nan, as for pcc (tests/test_bad_input.py).
    with pytest.warns(ConstantMapWarning):
        assert np.isnan(deletion(model, image, np.zeros((SIZE, SIZE)), **kw).auc)


def test_batch_size_does_not_change_the_curve(model):
    image = region_image()
    saliency = np.random.default_rng(3).random((SIZE, SIZE))
    a = insertion(model, image, saliency, steps=10)
    b = insertion(model, image, saliency, steps=10, batch_size=3)
    np.testing.assert_allclose(a.scores, b.scores, atol=1e-6)


def test_fidelity_takes_target_from_an_explanation(model):
    image = region_image()
    e = Explanation("oracle", region_mask().astype(np.float32), image, 1, "off", 0.0, "region")
    curve = insertion(model, image, e, steps=4)
    assert curve.target == 1
    assert insertion(model, image, e.saliency, steps=4).target == 0  # top prediction
    assert insertion(model, image, e.saliency, target="off", steps=4).target == 1
    with pytest.raises(ValueError, match="differs from the explanation's target"):
        insertion(model, image, e, target=0, steps=4)


def test_fidelity_argument_checks(model):
    image = region_image()
    with pytest.raises(ValueError, match=r"saliency has shape \(16, 16\) but image is \(32, 32\)"):
        deletion(model, image, np.zeros((16, 16)))
    with pytest.raises(ValueError, match="steps must be at least 1"):
        deletion(model, image, np.zeros((SIZE, SIZE)), steps=0)
    bad = np.zeros((SIZE, SIZE))
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        insertion(model, image, bad)


@pytest.mark.weights
def test_mask_beats_inverted_mask_on_mobilenet(mobilenet, cat_on_grass):
    image, mask = cat_on_grass
    on, off = mask.astype(float), (~mask).astype(float)
    steps = mobilenet.batch_size - 1  # steps + 1 images fill exactly one padded batch
    ins = [insertion(mobilenet, image, m, steps=steps).auc for m in (on, off)]
    dele = [deletion(mobilenet, image, m, steps=steps).auc for m in (on, off)]
    assert ins[0] > ins[1] + 0.1, ins
    assert dele[0] < dele[1] - 0.1, dele
