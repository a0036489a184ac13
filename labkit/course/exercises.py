"""Implement-it-yourself exercises: the heart of each method in a few lines, checked.

Each ``check_*`` function calls the student's function on several cases (real
activations, gradients, masks and probabilities of EfficientNet-Lite0 on a real photo,
plus edge cases), compares the result with labkit's own implementation, and prints a
short verdict: which case failed, expected against received shape or values, and a
hint. When the result matches a typical mistake (no ReLU, normalising by N instead of
N·p1, an unweighted fit...), the hint names that mistake. No check prints the solution.

Each check first calls the function on tiny arguments: one that raises
``NotImplementedError`` (the stub of the student notebook) prints "not implemented yet"
at once, before any real case is computed. Every check returns True when all cases
pass, else False.

=============================  ==========================================================
Lab 4  :func:`check_lime_kernel`     ``f(data, kernel_width) -> (num_samples,)``
       :func:`check_lime_surrogate`  ``f(data, scores, weights, alpha) -> (n_features,)``
       :func:`check_rise`            ``f(masks, probs, p1) -> (H, W)``
Lab 5  :func:`check_gradcam`         ``f(activations, gradients) -> (h, w)``
       :func:`check_fem`             ``f(activations, k) -> (h, w)``
Lab 6  :func:`check_auc`             ``f(fractions, scores) -> float``
       :func:`check_pcc`             ``f(map_a, map_b) -> float``
       :func:`check_sparseness`      ``f(saliency) -> float``
=============================  ==========================================================

The real-model cases are computed once per process (the first check takes a few
seconds, later ones are immediate).
"""
import functools
import warnings
from dataclasses import dataclass, field

import numpy as np

MODEL = "efficientnet_lite0"
PHOTO = "chelsea"

__all__ = ["check_auc", "check_fem", "check_gradcam", "check_lime_kernel",
           "check_lime_surrogate", "check_pcc", "check_rise", "check_sparseness"]


@dataclass
class Case:
    """One call of the student's function: its arguments and labkit's answer."""

    label: str
    args: tuple
    expected: object
    mistakes: dict = field(default_factory=dict)  # hint -> what that mistake returns


# -- real-model material, computed once per process ------------------------------------

@functools.cache
def _model():
    from ..models import load_model
    return load_model(MODEL)


@functools.cache
def _photo():
    from ..data import sample_image
    return sample_image(PHOTO, size=224).astype(np.float32)


@functools.cache
def _top_classes():
    return tuple(int(i) for i in np.argsort(-_model().predict(_photo()[None])[0])[:5])


@functools.cache
def _cam_inputs(rank):
    """Activations and gradients (h, w, C) at the default layer for the rank-th class."""
    from .._tf import tf
    from ..explainers.cam import activation_function

    _, run = activation_function(_model())
    target = _top_classes()[rank]
    acts, _, grads = run(tf.constant(_photo()[None]), tf.constant([target], tf.int32))
    return acts[0].numpy(), grads[0].numpy()


@functools.cache
def _lime_inputs(num_samples=300, n_segments=30):
    """LIME's on/off matrix and the class probabilities of the perturbed photos."""
    from .._pixels import baseline_pixels
    from ..explainers.lime import perturbation_samples, score_perturbations, segment

    pixels = _photo()
    segments = segment(pixels, n_segments=n_segments)
    data = perturbation_samples(num_samples, int(segments.max()) + 1, seed=0)
    fudged = baseline_pixels(None, pixels, segments)
    probs = score_perturbations(_model(), pixels, fudged, segments, data)
    return data, probs[:, _top_classes()[0]]


@functools.cache
def _rise_inputs(num_masks=64, grid_size=7, p1=0.5, seed=0):
    """Masks, the target's probabilities on the masked photos, and labkit's RISE map."""
    from ..explainers import explain
    from ..explainers.rise import IMAGENET_MEAN_RGB, generate_masks, masks_from_recipe

    pixels, target = _photo(), _top_classes()[0]
    grids, shifts, up = generate_masks(pixels.shape[:2], num_masks=num_masks,
                                       grid_size=grid_size, p1=p1, seed=seed)
    masks = masks_from_recipe(grids, shifts, up, pixels.shape[:2])
    probs = _model().predict_masked(pixels, masks, IMAGENET_MEAN_RGB)[:, target]
    saliency = explain(_model(), pixels, "rise", target=target, num_masks=num_masks,
                       grid_size=grid_size, p1=p1, seed=seed).saliency
    return masks, probs, saliency


@functools.cache
def _maps():
    """Real Grad-CAM and FEM maps of the photo, and a deletion curve of each."""
    from ..explainers import explain
    from ..metrics import deletion, insertion

    cam = explain(_model(), _photo(), "gradcam")
    fem = explain(_model(), _photo(), "fem")
    return cam, fem, deletion(_model(), _photo(), cam, steps=20), insertion(
        _model(), _photo(), fem, steps=20)


# -- the verdict -----------------------------------------------------------------------

def _preview(values):
    flat = np.asarray(values, dtype=np.float64).ravel()
    text = np.array2string(flat[:4], precision=4, separator=", ", suppress_small=True)
    return text[:-1] + ", ...]" if flat.size > 4 else text


def _same(received, expected, rtol, atol):
    received, expected = np.asarray(received, np.float64), np.asarray(expected, np.float64)
    return received.shape == expected.shape and np.allclose(received, expected, rtol=rtol,
                                                            atol=atol, equal_nan=True)


#: Tiny arguments to call a student's function with before any real case is computed,
#: so that an unwritten exercise says so at once.
_PROBES = {
    "lime_kernel": (np.ones((2, 3)), 0.25),
    "lime_surrogate": (np.eye(3), np.ones(3), np.ones(3), 1.0),
    "rise": (np.ones((2, 4, 4)), np.ones(2), 0.5),
    "gradcam": (np.ones((2, 2, 3)), np.ones((2, 2, 3))),
    "fem": (np.ones((2, 2, 3)), 1.0),
    "auc": (np.linspace(0, 1, 3), np.ones(3)),
    "pcc": (np.eye(3), np.eye(3)),
    "sparseness": (np.eye(3),),
}


def _verdict(title, student, probe, build, hint, rtol=1e-3, atol=1e-5):
    """Probe, then run every case of ``build()``; print one line per case and a hint."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            student(*probe)
    except NotImplementedError:
        print(f"{title}: not implemented yet.")
        return False
    except Exception:  # reported with the real cases below
        pass
    cases = build()
    lines, passed, advice = [], 0, None
    for case in cases:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # 0/0 on constant maps
                received = student(*case.args)
        except NotImplementedError:
            print(f"{title}: not implemented yet.")
            return False
        except Exception as error:  # the student's bug, reported rather than raised
            lines.append(f"  FAIL {case.label}: your function raised "
                         f"{type(error).__name__}: {error}")
            advice = advice or hint
            continue
        expected = np.asarray(case.expected)
        if received is None:
            lines.append(f"  FAIL {case.label}: your function returned None (a missing return?)")
            advice = advice or hint
            continue
        try:
            got = np.asarray(received, dtype=np.float64)
        except (TypeError, ValueError):
            lines.append(f"  FAIL {case.label}: expected numbers, received "
                         f"{type(received).__name__}")
            advice = advice or hint
            continue
        if got.shape != expected.shape:
            lines.append(f"  FAIL {case.label}: expected shape {expected.shape}, received "
                         f"{got.shape}")
            advice = advice or hint
        elif not _same(got, expected, rtol, atol):
            lines.append(f"  FAIL {case.label}: expected {_preview(expected)}, received "
                         f"{_preview(got)}")
            named = [h for h, wrong in case.mistakes.items() if _same(got, wrong, rtol, atol)]
            advice = advice or (named[0] if named else hint)
        else:
            passed += 1
            lines.append(f"  ok   {case.label}")
    verdict = "correct" if passed == len(cases) else "not yet right"
    print(f"{title}: {passed}/{len(cases)} cases passed, {verdict}.")
    print("\n".join(lines))
    if advice:
        print(f"Hint: {advice}")
    return passed == len(cases)


# -- Lab 4: LIME and RISE --------------------------------------------------------------

def _cosine_distance(data):
    return 1.0 - np.sqrt(data.sum(axis=1) / data.shape[1])


def check_lime_kernel(student):
    """Check ``student(data, kernel_width)``: LIME's sample weights.

    ``data`` is the (num_samples, n_features) 0/1 on/off matrix, row 0 all ones; the
    weight of a row is ``sqrt(exp(-d**2 / kernel_width**2))`` with ``d`` the cosine
    distance of the row to the all-ones row (labkit follows the `lime` package).
    """
    def build():
        from ..explainers.lime import kernel_weights

        real, _ = _lime_inputs()
        corners = np.array([[1, 1, 1, 1], [0, 0, 0, 0], [1, 0, 0, 0], [1, 1, 0, 0]])
        cases = []
        for label, data, width in (("real LIME samples, width 0.25", real, 0.25),
                                   ("real LIME samples, width 1.0", real, 1.0),
                                   ("all on, all off, one on, half on", corners, 0.25)):
            d = _cosine_distance(data)
            cases.append(Case(label, (data.copy(), width), kernel_weights(data, width), {
                "the lime package takes the square root of the exponential kernel.":
                    np.exp(-d ** 2 / width ** 2),
                "the distance is the cosine distance to the all-ones row, 1 - sqrt(on / n), "
                "not the fraction of superpixels switched off.":
                    np.sqrt(np.exp(-(1 - data.sum(1) / data.shape[1]) ** 2 / width ** 2)),
            }))
        return cases

    return _verdict("LIME kernel weights", student, _PROBES["lime_kernel"], build,
                    "count the superpixels switched on in each row, turn that into a cosine "
                    "distance to the original image, then apply the kernel.")


def check_lime_surrogate(student):
    """Check ``student(data, scores, weights, alpha)``: the surrogate's coefficients.

    A ridge regression of ``scores`` on ``data`` with an intercept, sample weights
    ``weights`` and penalty ``alpha``; return the (n_features,) coefficients.
    """
    def build():
        from sklearn.linear_model import Ridge

        from ..explainers.lime import fit_surrogate, kernel_weights

        data, scores = _lime_inputs()
        rng = np.random.default_rng(0)
        small = rng.integers(0, 2, (40, 6))
        small[0] = 1
        small_scores = small @ np.array([0.4, -0.2, 0.0, 0.1, 0.3, -0.1]) + 0.05
        cases = []
        for label, x, y, alpha in (("real LIME samples and probabilities, alpha 1", data, scores,
                                    1.0),
                                   ("real LIME samples, alpha 10", data, scores, 10.0),
                                   ("6 superpixels, known linear scores, alpha 0.01", small,
                                    small_scores, 0.01)):
            w = kernel_weights(x, 0.25)
            unweighted = Ridge(alpha=alpha).fit(x, y).coef_
            no_intercept = Ridge(alpha=alpha, fit_intercept=False).fit(x, y, sample_weight=w).coef_
            cases.append(Case(label, (x.copy(), y.copy(), w.copy(), alpha),
                              fit_surrogate(x, y, w, alpha)["weights"], {
                                  "the fit must use the kernel weights as sample weights: samples "
                                  "close to the original image count more.": unweighted,
                                  "LIME's surrogate has an intercept (the score with every "
                                  "superpixel hidden).": no_intercept}))
        return cases

    return _verdict("LIME surrogate", student, _PROBES["lime_surrogate"], build,
                    "a ridge regression with an intercept, weighted by the kernel weights; "
                    "return only its coefficients, one per superpixel.", rtol=1e-3, atol=1e-4)


def check_rise(student):
    """Check ``student(masks, probs, p1)``: RISE's saliency map.

    ``masks`` (N, H, W) in [0, 1], ``probs`` (N,) the class probability of each masked
    image; the map is ``sum_i probs_i * masks_i / (N * p1)`` (Petsiuk et al. 2018, eq. 6).
    """
    def build():
        from ..explainers.rise import rise_map

        masks, probs, saliency = _rise_inputs()
        rng = np.random.default_rng(1)
        toy = (rng.random((10, 8, 8)) < 0.3).astype(np.float32)
        toy_probs = rng.random(10).astype(np.float32)
        cases = []
        for label, m, p, p1, expected in (
                ("64 real masks on the photo (labkit's RISE map)", masks, probs, 0.5, saliency),
                ("10 binary 8x8 masks, p1 = 0.3", toy, toy_probs, 0.3,
                 rise_map(toy, toy_probs, 0.3))):
            total = np.tensordot(p, m, axes=1)
            cases.append(Case(label, (m.copy(), p.copy(), p1), expected, {
                "divide by N * p1, the expected total of the masks at a pixel (the paper), "
                "not by N alone.": total / len(m),
                "labkit follows the paper: divide by N * p1, not by each pixel's own mask total "
                "(xplique's choice).": total / np.maximum(m.sum(0), 1e-12),
                "weight each mask by its probability and sum over the masks (axis 0).":
                    m.sum(0) / (len(m) * p1)}))
        return cases

    return _verdict("RISE saliency", student, _PROBES["rise"], build,
                    "weight every mask by the probability of its masked image, sum over the "
                    "masks, and divide by the expected mask total.", rtol=1e-3, atol=1e-5)


# -- Lab 5: Grad-CAM and FEM -----------------------------------------------------------

def check_gradcam(student):
    """Check ``student(activations, gradients)``: Grad-CAM's (h, w) map, before upsampling.

    ``activations`` and ``gradients`` are (h, w, C); channel weights are the spatial mean
    of the gradients, the map is ``ReLU(sum_k w_k A_k)``.
    """
    def build():
        from ..explainers.gradcam import gradcam_map

        rng = np.random.default_rng(2)
        acts_top, grads_top = _cam_inputs(0)
        acts_fifth, grads_fifth = _cam_inputs(4)
        toy_acts = rng.random((5, 4, 3)).astype(np.float32)
        cases = []
        for label, a, g in (("EfficientNet-Lite0 on the photo, top class", acts_top, grads_top),
                            ("same photo, 5th most probable class", acts_fifth, grads_fifth),
                            ("all-negative gradients (the map must be all zero)", toy_acts,
                             -rng.random((5, 4, 3)).astype(np.float32))):
            weights = g.mean(axis=(0, 1))
            raw = (a * weights).sum(-1)
            cases.append(Case(label, (a.copy(), g.copy()), gradcam_map(a, g)[0], {
                "Grad-CAM keeps only positive evidence: apply a ReLU to the weighted sum.": raw,
                "the channel weights are the spatial mean of the gradients (over h and w), "
                "not their sum.": np.maximum((a * g.sum(axis=(0, 1))).sum(-1), 0),
                "average the gradients over the spatial axes (h, w) to get one weight per "
                "channel, not over the channels.":
                    np.maximum(a.sum(-1) * g.mean(-1), 0),
                "return the raw map; plots normalise it for display.":
                    np.maximum(raw, 0) / max(np.maximum(raw, 0).max(), 1e-12)}))
        return cases

    return _verdict("Grad-CAM", student, _PROBES["gradcam"], build,
                    "one weight per channel from the gradients, a weighted sum of the "
                    "activation maps, then keep the positive part.", rtol=1e-3, atol=1e-4)


def check_fem(student):
    """Check ``student(activations, k)``: FEM's (h, w) map, before upsampling.

    Per channel c: ``B_c = A_c > mean(A_c) + k * std(A_c)`` (spatial statistics,
    population std); the map is ``sum_c mean(A_c) * B_c``.
    """
    def build():
        from ..explainers.fem import fem_map

        acts, _ = _cam_inputs(0)
        rng = np.random.default_rng(3)
        toy = rng.random((6, 6, 3)).astype(np.float32)
        toy[..., 1] = 0.5  # a constant channel: nothing lies strictly above its threshold
        cases = []
        for label, a, k in (("EfficientNet-Lite0 activations, k = 2", acts, 2.0),
                            ("EfficientNet-Lite0 activations, k = 1", acts, 1.0),
                            ("6x6x3 toy with one constant channel, k = 1", toy, 1.0)):
            mean, std = a.mean(axis=(0, 1)), a.std(axis=(0, 1))
            binary = a > mean + k * std
            cases.append(Case(label, (a.copy(), k), fem_map(a, k)[0], {
                "keep locations strictly above the threshold (>), not at it: a constant channel "
                "has no unusual response.": ((a >= mean + k * std) * mean).sum(-1),
                "labkit weighs each channel by its mean activation (the paper), not by the "
                "fraction of locations above threshold.": (binary * binary.mean((0, 1))).sum(-1),
                "the mean and standard deviation are per channel, over the spatial axes only.":
                    ((a > a.mean() + k * a.std()) * mean).sum(-1),
                "weigh each binary map by its channel's mean activation before summing.":
                    binary.sum(-1)}))
        return cases

    return _verdict("FEM", student, _PROBES["fem"], build,
                    "threshold each channel at its own mean + k std, then sum the binary maps "
                    "weighted by the channels' means.", rtol=1e-3, atol=1e-4)


# -- Lab 6: insertion/deletion AUC and PCC --------------------------------------------

def check_auc(student):
    """Check ``student(fractions, scores)``: the area under an insertion/deletion curve.

    The trapezoidal rule over the fraction axis (labkit, the RISE reference code).
    """
    def build():
        _, _, deletion_curve, insertion_curve = _maps()
        uneven_x, uneven_y = np.array([0.0, 0.1, 0.5, 1.0]), np.array([0.9, 0.6, 0.2, 0.1])
        cases = []
        for label, x, y, expected in (
                ("real deletion curve of a Grad-CAM map", deletion_curve.fractions,
                 deletion_curve.scores, deletion_curve.auc),
                ("real insertion curve of an FEM map", insertion_curve.fractions,
                 insertion_curve.scores, insertion_curve.auc),
                ("constant curve at 0.7", np.linspace(0, 1, 11), np.full(11, 0.7), 0.7),
                ("uneven steps 0, 0.1, 0.5, 1", uneven_x, uneven_y,
                 float(np.sum(np.diff(uneven_x) * (uneven_y[1:] + uneven_y[:-1]) / 2)))):
            cases.append(Case(label, (np.array(x), np.array(y)), expected, {
                "the mean of the scores ignores the step widths and gives the end points full "
                "weight: use the trapezoidal rule.": np.mean(y),
                "a plain sum of the scores is not an area: multiply by the step widths "
                "(the trapezoidal rule).": np.sum(y),
                "integrate the scores over the fractions, not the fractions over the scores.":
                    np.sum((y[1:] - y[:-1]) * (x[1:] + x[:-1]) / 2)}))
        return cases

    return _verdict("Curve AUC", student, _PROBES["auc"], build,
                    "add up, step by step, the width of the step times the average of the "
                    "two scores at its ends.", rtol=1e-6, atol=1e-9)


def check_pcc(student):
    """Check ``student(map_a, map_b)``: the Pearson correlation of two (H, W) maps.

    Compared with :func:`labkit.metrics.pcc`; a constant map has no correlation: nan.
    """
    def build():
        from ..metrics import pcc

        cam, fem, _, _ = _maps()
        a, b = cam.saliency.astype(np.float64), fem.saliency.astype(np.float64)
        rng = np.random.default_rng(4)
        noise = rng.random((16, 16))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pairs = (("Grad-CAM vs FEM of the photo", a, b),
                     ("a map vs 3 * map + 2 (must be 1)", a, 3 * a + 2),
                     ("a map vs its negative (must be -1)", noise, -noise),
                     ("a constant map (must be nan)", noise, np.full((16, 16), 0.5)))
            cases = [Case(label, (x.copy(), y.copy()), pcc(x, y), {
                "a correlation subtracts each map's mean before multiplying (centering); "
                "without it you get the cosine similarity.":
                    (x * y).sum() / np.sqrt((x * x).sum() * (y * y).sum())})
                     for label, x, y in pairs]
        return cases

    return _verdict("PCC", student, _PROBES["pcc"], build,
                    "centre both maps, then divide their summed product by the product of "
                    "their norms.", rtol=1e-6, atol=1e-6)


def _gini(values, ascending=True, first_rank=1):
    """The Gini formula with the typical mistakes as switches (``values`` used as given)."""
    ordered = np.sort(values.ravel())
    ordered = ordered if ascending else ordered[::-1]
    n = ordered.size
    rank = np.arange(first_rank, first_rank + n)
    return ((2 * rank - n - 1) * ordered).sum() / (n * ordered.sum())


def check_sparseness(student):
    """Check ``student(saliency)``: the Gini index of the absolute (H, W) map.

    Compared with :func:`labkit.metrics.sparseness` (Chalasani et al. 2020; Quantus's
    ``Sparseness``): ``sum_i (2i - n - 1) a_i / (n sum_i a_i)`` over the absolute values
    sorted in ascending order, i from 1 to n.
    """
    def build():
        from ..metrics import sparseness

        cam, fem, _, _ = _maps()
        rng = np.random.default_rng(5)
        signed = rng.normal(size=(16, 16))
        one = np.zeros((16, 16))
        one[4, 9] = 2.0
        maps = (("Grad-CAM map of the photo", cam.saliency.astype(np.float64)),
                ("FEM map of the photo", fem.saliency.astype(np.float64)),
                ("a signed 16x16 map (LIME's weights are signed)", signed),
                ("one non-zero pixel of 256 (must be 1 - 1/256)", one),
                ("a map equal everywhere (must be 0)", np.full((16, 16), 0.2)))
        return [Case(label, (heat.copy(),), sparseness(heat), {
            "use the absolute values: a strongly negative pixel is as important as a "
            "strongly positive one.": _gini(heat),
            "sort in ascending order (np.sort): the largest value gets the largest weight.":
                _gini(np.abs(heat), ascending=False),
            "the ranks i run from 1 to n, not from 0.": _gini(np.abs(heat), first_rank=0),
            "divide by n times the sum of the values.":
                _gini(np.abs(heat)) * heat.size}) for label, heat in maps]

    return _verdict("Sparseness (Gini index)", student, _PROBES["sparseness"], build,
                    "take absolute values, sort them in ascending order, weight the i-th "
                    "(i from 1) by 2i - n - 1, and divide the sum by n times their total.",
                    rtol=1e-6, atol=1e-9)
