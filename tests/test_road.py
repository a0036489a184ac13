"""ROAD (Rong et al. 2022): noisy linear imputation and the MoRF/LeRF curves."""
import numpy as np
import pytest
from scipy.sparse import csc_matrix, lil_matrix
from scipy.sparse.linalg import spsolve

import labkit
from labkit.explainers import ParameterError
from labkit.metrics import noisy_linear_imputation, road
from labkit.metrics.road import NOISE_STD

# -- a numpy transcription of tleemann/road_evaluation road/imputations.py ----------------
neighbors_weights = [((1, 1), 1 / 12), ((0, 1), 1 / 6), ((-1, 1), 1 / 12), ((1, -1), 1 / 12),
                     ((0, -1), 1 / 6), ((-1, -1), 1 / 12), ((1, 0), 1 / 6), ((-1, 0), 1 / 6)]


def add_offset_to_indices(indices, offset, mask_shape):
    """Add the corresponding offset to the indices. Return new indices plus a valid bit-vector."""
    cord1 = indices % mask_shape[1]
    cord0 = indices // mask_shape[1]
    cord0 += offset[0]
    cord1 += offset[1]
    valid = ((cord0 < 0) | (cord1 < 0) | (cord0 >= mask_shape[0]) | (cord1 >= mask_shape[1]))
    return ~valid, indices + offset[0] * mask_shape[1] + offset[1]


def setup_sparse_system(mask, img, neighbors_weights):
    """mask: (H, W) with 0 where missing; img: (C, H, W). Returns A (N, N), b (N, C)."""
    maskflt = mask.flatten()
    imgflat = img.reshape((img.shape[0], -1))
    indices = np.argwhere(maskflt == 0).flatten()
    coords_to_vidx = np.zeros(len(maskflt), dtype=int)
    coords_to_vidx[indices] = np.arange(len(indices))
    numEquations = len(indices)
    A = lil_matrix((numEquations, numEquations))
    b = np.zeros((numEquations, img.shape[0]))
    sum_neighbors = np.ones(numEquations)
    for n in neighbors_weights:
        offset, weight = n[0], n[1]
        valid, new_coords = add_offset_to_indices(indices, offset, mask.shape)
        valid_coords = new_coords[valid]
        valid_ids = np.argwhere(valid == 1).flatten()
        has_values_coords = valid_coords[maskflt[valid_coords] > 0.5]
        has_values_ids = valid_ids[maskflt[valid_coords] > 0.5]
        b[has_values_ids, :] -= weight * imgflat[:, has_values_coords].T
        has_no_values = valid_coords[maskflt[valid_coords] < 0.5]
        variable_ids = coords_to_vidx[has_no_values]
        has_no_values_ids = valid_ids[maskflt[valid_coords] < 0.5]
        A[has_no_values_ids, variable_ids] = weight
        sum_neighbors[np.argwhere(valid == 0).flatten()] = \
            sum_neighbors[np.argwhere(valid == 0).flatten()] - weight
    A[np.arange(numEquations), np.arange(numEquations)] = -sum_neighbors
    return A, b


def reference_impute(img, mask, noise=0.0):
    """NoisyLinearImputer(noise)(img (C, H, W), mask (H, W), 1 present / 0 absent)."""
    imgflt = img.reshape(img.shape[0], -1)
    maskflt = mask.reshape(-1)
    indices_linear = np.argwhere(maskflt == 0).flatten()
    A, b = setup_sparse_system(mask, img, neighbors_weights)
    res = spsolve(csc_matrix(A), b)
    img_infill = imgflt.copy()
    noise_draw = np.random.default_rng(0).normal(size=res.T.shape)
    img_infill[:, indices_linear] = res.T + noise * noise_draw
    return img_infill.reshape(img.shape)


@pytest.fixture(scope="module")
def lite0():
    return labkit.load_model("efficientnet_lite0")


@pytest.fixture(scope="module")
def coffee(lite0):
    image = labkit.sample_image("coffee")
    return image, labkit.explain(lite0, image, "gradcam")


def photo_and_mask(size=48, fraction=0.4, seed=0):
    image = labkit.sample_image("chelsea", size=size)
    removed = np.random.default_rng(seed).random((size, size)) < fraction
    removed[:8, :8] = True  # a block whose inner pixels have only removed neighbours
    return image, removed


# -- imputation ------------------------------------------------------------------------
def test_imputation_equals_the_reference_code():
    image, removed = photo_and_mask()
    ours = noisy_linear_imputation(image, removed, noise=0)
    theirs = reference_impute(np.transpose(image, (2, 0, 1)).astype(np.float64),
                              (~removed).astype(np.float64))
    np.testing.assert_allclose(ours, np.transpose(theirs, (1, 2, 0)), atol=1e-3)


def test_imputed_pixels_are_the_weighted_mean_of_their_neighbours():
    image, removed = photo_and_mask(size=64, fraction=0.6, seed=1)
    out = noisy_linear_imputation(image, removed, noise=0).astype(np.float64)
    np.testing.assert_array_equal(out[~removed], image[~removed])
    padded = np.pad(out, ((1, 1), (1, 1), (0, 0)))
    inside = np.pad(np.ones(removed.shape), 1)
    total, weights = np.zeros_like(out), np.zeros(removed.shape)
    for dr in (-1, 0, 1):
        for dc in (-1, 0, 1):
            if dr == dc == 0:
                continue
            w = 1 / 6 if dr == 0 or dc == 0 else 1 / 12
            window = (slice(1 + dr, 65 + dr), slice(1 + dc, 65 + dc))
            total += w * padded[window]
            weights += w * inside[window]
    mean = total / weights[..., None]
    np.testing.assert_allclose(out[removed], mean[removed], atol=1e-3)
    assert np.abs(out[removed] - image[removed]).mean() > 3  # it did change them


def test_constant_image_stays_constant_and_noise_has_its_std():
    flat = np.full((40, 40, 3), 93, np.uint8)
    removed = np.random.default_rng(2).random((40, 40)) < 0.7
    np.testing.assert_allclose(noisy_linear_imputation(flat, removed, noise=0), 93, atol=1e-6)
    noisy = noisy_linear_imputation(flat, removed, seed=3)
    np.testing.assert_array_equal(noisy[~removed], 93)
    assert np.std(noisy[removed] - 93) == pytest.approx(NOISE_STD, rel=0.05)
    assert NOISE_STD == pytest.approx(2.55)  # the reference's 0.01 on [0, 1] images


def test_imputation_argument_checks():
    image, removed = photo_and_mask()
    with pytest.raises(ParameterError, match="removed is True everywhere"):
        noisy_linear_imputation(image, np.ones((48, 48), bool))
    with pytest.raises(ParameterError,
                       match=r"removed has shape \(8, 8\) but the image is \(48, 48\)"):
        noisy_linear_imputation(image, removed[:8, :8])
    with pytest.raises(ParameterError, match="removed must be a boolean numpy array"):
        noisy_linear_imputation(image, removed.astype(int))
    with pytest.raises(ParameterError, match="noise must be a standard deviation >= 0"):
        noisy_linear_imputation(image, removed, noise=-1)


# -- the curves --------------------------------------------------------------------------
FAST = (0.1, 0.2, 0.3, 0.4, 0.5)


def test_gradcam_morf_drops_faster_than_lerf(lite0, coffee):
    image, explanation = coffee
    morf = road(lite0, image, explanation, order="morf", percentages=FAST)
    lerf = road(lite0, image, explanation, order="lerf", percentages=FAST)
    assert (morf.metric, lerf.metric) == ("road_morf", "road_lerf")
    assert not morf.higher_is_better and lerf.higher_is_better
    assert morf.target == lerf.target == explanation.target
    assert morf.auc < lerf.auc - 0.3, (morf.auc, lerf.auc)
    assert (morf.scores < lerf.scores).all()
    np.testing.assert_array_equal(morf.fractions, FAST)
    s = morf.scores  # mean height: the RISE code's auc for equal steps
    assert morf.auc == pytest.approx((s.sum() - s[0] / 2 - s[-1] / 2) / (len(s) - 1))


def test_curve_points_are_the_imputed_images(lite0, coffee):
    image, explanation = coffee
    percentages = (0.25, 0.5)
    relevance = explanation.saliency.ravel()
    for order in ("morf", "lerf"):
        curve = road(lite0, image, explanation, order=order, percentages=percentages, noise=0)
        rank = np.argsort(-relevance if order == "morf" else relevance, kind="stable")
        images = []
        for p in percentages:
            removed = np.zeros(relevance.size, bool)
            removed[rank[:round(p * relevance.size)]] = True
            images.append(noisy_linear_imputation(image, removed.reshape(224, 224), noise=0))
        expected = lite0.predict(np.stack(images))[:, explanation.target]
        np.testing.assert_allclose(curve.scores, expected, atol=1e-5)


def test_same_seed_same_curve(lite0, coffee):
    image, explanation = coffee
    kw = {"percentages": (0.2, 0.6)}
    a = road(lite0, image, explanation, seed=4, **kw)
    b = road(lite0, image, explanation, seed=4, **kw)
    np.testing.assert_array_equal(a.scores, b.scores)
    c = road(lite0, image, explanation, seed=5, **kw)
    assert not np.array_equal(a.scores, c.scores)  # the noise is drawn, not fixed


def test_road_argument_checks(lite0, coffee):
    image, explanation = coffee
    with pytest.raises(ParameterError, match="order must be 'morf'"):
        road(lite0, image, explanation, order="most")
    with pytest.raises(ParameterError, match="percentages must be increasing fractions"):
        road(lite0, image, explanation, percentages=(0.5, 1.0))
    with pytest.raises(ParameterError, match="percentages must be increasing fractions"):
        road(lite0, image, explanation, percentages=(0.5, 0.2))
    with pytest.raises(ParameterError, match="noise must be a standard deviation"):
        road(lite0, image, explanation, noise=float("nan"))
    with pytest.raises(ParameterError, match=r"explanation has shape \(7, 7\) but image is"):
        road(lite0, image, np.zeros((7, 7)))
    with pytest.raises(ParameterError, match="seed must be None or an integer"):
        road(lite0, image, explanation, seed=0.5)
