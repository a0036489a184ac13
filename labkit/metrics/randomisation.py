"""Does the map depend on the model? Randomisation tests (Adebayo et al. 2018; Sixt et al. 2020).

A saliency map is meant to explain *this* model's decision *for this class*. Two sanity
checks break one of the two and ask whether the map notices:

- :func:`model_randomisation` (Adebayo et al. 2018, the cascading "model parameter
  randomisation test"): randomise the weights block by block from the output down and
  re-explain after each step. A map that stays similar to the trained model's map
  describes the image (its edges, its bright regions), not the model.
- :func:`random_logit` (Sixt et al. 2020): explain a randomly chosen *other* class. A map
  that stays the same explains no class in particular (FEM is class-agnostic by design).

For both, **lower similarity is better**. Similarities (``similarity=``): "spearman", the
Spearman rank correlation (ties get their average rank, as in scipy and Quantus); "ssim"
and "pcc", labkit's :func:`~labkit.metrics.ssim` and :func:`~labkit.metrics.pcc` (both
maps min-max normalised to [0, 1]; SSIM with Wang et al.'s Gaussian window). A map that
is constant (zero everywhere, say) ranks no pixel, so its similarity is ``nan`` with a
:class:`ConstantMapWarning`.

labkit implements both tests itself rather than calling Quantus's ``MPRT`` and
``RandomLogit``: those take a Keras 2 model and an ``explain_func`` of their own. Here
labkit's registered explainers run with their checked parameters, the trained model's maps
on its own backend (OpenVINO for forward-only methods), the randomised copy's on TensorFlow
(a separate Keras model: the caller's is never touched, and converting every randomised
copy to OpenVINO would cost more than it saves). The definitions follow Quantus's where
Quantus chose, except where stated.

References
----------
Adebayo, Gilmer, Muelly, Goodfellow, Hardt & Kim (2018). Sanity checks for saliency maps.
NeurIPS.
Sixt, Granz & Landgraf (2020). When explanations lie: why many modified BP attributions
fail. ICML.
"""
from __future__ import annotations

import re
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy import stats
from scipy.integrate import trapezoid

from .._checks import ParameterError, check_int, check_seed
from .._tf import keras
from .._work import track
from ..models.classifier import Classifier
from ._explained import first_explanation, resolve
from ._maps import as_map, is_constant
from .fidelity import CurveScore
from .similarity import pcc, ssim

if TYPE_CHECKING:
    from ..explainers import Explanation

__all__ = ["RandomisationCurve", "SIMILARITIES", "map_similarity", "model_randomisation",
           "random_logit", "weight_blocks"]

#: The similarities ``model_randomisation`` and ``random_logit`` accept.
SIMILARITIES = ("spearman", "ssim", "pcc")


def map_similarity(map_a: np.ndarray | Explanation, map_b: np.ndarray | Explanation,
                   kind: str = "spearman", *, absolute: bool = False) -> float:
    """Similarity of two maps of the same shape: "spearman", "ssim" or "pcc".

    Parameters
    ----------
    map_a, map_b : ndarray (H, W) or Explanation
    kind : {"spearman", "ssim", "pcc"}
        See the module docstring.
    absolute : bool
        Compare the absolute maps (a pixel's importance whatever its sign).

    Returns
    -------
    float in [-1, 1]; ``nan`` with a :class:`ConstantMapWarning` if a map is constant.
    """
    _check_similarity(kind, "kind")
    a, b = as_map(map_a, "map_a"), as_map(map_b, "map_b")
    if a.shape != b.shape:
        raise ParameterError(f"map_a has shape {a.shape} but map_b has shape {b.shape}; "
                             "compare maps of the same image.")
    return _compare(a, b, kind, absolute, ("map_a", "map_b"))


def _compare(a, b, kind, absolute, names):
    """:func:`map_similarity` of checked maps; ``names`` say which map a warning is about."""
    if absolute:
        a, b = np.abs(a), np.abs(b)
    if is_constant(a, names[0], 4) or is_constant(b, names[1], 4):
        return float("nan")
    if kind == "ssim":
        return ssim(a, b)
    if kind == "pcc":
        return pcc(a, b)
    return float(stats.spearmanr(a.ravel(), b.ravel()).statistic)


# -- the blocks of a model ----------------------------------------------------------------

#: Layers that normalise the output of the layer before them, and join its block.
_NORMALISATION = (keras.layers.BatchNormalization, keras.layers.LayerNormalization,
                  keras.layers.GroupNormalization)


def _auto_named(layer):
    """Does the layer carry Keras's default name ("conv2d", "dense_3")?"""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", type(layer).__name__)
    name = re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()
    return re.fullmatch(rf"{name}(_\d+)?", layer.name) is not None


def _block_key(layer):
    """"block2a_expand_conv" -> "block2a", "conv_dw_3_bn" -> "conv_dw_3", "top_conv" -> "top"."""
    if _auto_named(layer):
        return layer.name
    numbered = re.match(r"\D*\d+[a-z]*(?=_|$)", layer.name)
    return numbered.group(0) if numbered else layer.name.split("_")[0]


def weight_blocks(model: Classifier | keras.Model) -> list[tuple[str, list]]:
    """The blocks ``model_randomisation`` randomises, in forward order (input first).

    A block is a run of consecutive layers with weights whose names share a prefix: up to
    the first number and the letter after it (EfficientNet's ``block2a_expand_conv``,
    ``block2a_dwconv``, ``block2a_project_bn``... form ``block2a``; MobileNet's
    ``conv_dw_3`` and ``conv_dw_3_bn`` form ``conv_dw_3``; ResNet50's ``conv4_block2_1_conv``
    falls in ``conv4``), or, in a name without a number, up to the first underscore
    (``stem_conv`` and ``stem_bn`` form ``stem``). A layer with Keras's default name
    (``conv2d_1``, ``dense``) is a block of its own. A normalisation layer always joins the
    block before it, whose output it normalises. A block of one layer is named after the
    layer. Layers of nested models (a transfer-learned classifier's backbone) are included,
    in the order they run.

    Parameters
    ----------
    model : labkit.Classifier or keras.Model

    Returns
    -------
    list of (str, list of keras layers)
    """
    keras_model = model.model if isinstance(model, Classifier) else model
    runs = []  # [key, layers]
    for layer in _weighted_layers(keras_model):
        key = _block_key(layer)
        if runs and (key == runs[-1][0] or isinstance(layer, _NORMALISATION)):
            runs[-1][1].append(layer)
        else:
            runs.append([key, [layer]])
    return [(key if len(layers) > 1 else layers[0].name, layers) for key, layers in runs]


def _weighted_layers(keras_model):
    for layer in keras_model.layers:
        if isinstance(layer, keras.Model):
            yield from _weighted_layers(layer)
        elif layer.weights:
            yield layer


# -- the randomised copy ------------------------------------------------------------------

#: Per caller's Classifier: its copy (a separate Keras model, on TensorFlow) and a lock.
#: One copy, reused, so the explainers' compiled graphs are traced once per model.
_COPIES = weakref.WeakKeyDictionary()


def _copy_of(model):
    if model not in _COPIES:
        clone = keras.models.clone_model(model.model)
        if {id(v) for v in clone.weights} & {id(v) for v in model.model.weights}:
            raise ValueError(f"model_randomisation: keras.models.clone_model shares weights "
                             f"with {model.name!r}, so randomising the copy would change the "
                             "model; rebuild the model without shared layers.")
        copy = Classifier(clone, name=f"{model.name} (randomised copy)",
                          preprocess=model.preprocess, input_range=model.input_range,
                          target_layer=model.target_layer, class_names=model.class_names,
                          class_ids=model.class_ids, batch_size=model.batch_size,
                          backend="tensorflow")
        _COPIES[model] = (copy, threading.Lock())
    return _COPIES[model]


@dataclass(frozen=True)
class RandomisationCurve(CurveScore):
    """A cascading randomisation curve: similarity to the trained model's map per step.

    Attributes (beyond :class:`CurveScore`'s)
    ----------------------------------------
    auc : float in [-1, 1]
        Area under ``scores`` over ``fractions`` (trapezoidal rule): the mean similarity
        over the cascade. Lower is better.
    fractions : ndarray, shape (steps + 1,)
        Fraction of the model's blocks randomised, from 0 (the trained model) to 1.
    scores : ndarray, shape (steps + 1,)
        Similarity of each step's map to the trained model's map (1 at step 0).
    blocks : tuple of str
        The last (lowest) block randomised at each step; "" for the trained model.
    maps : ndarray, shape (steps + 1, H, W)
        The map at each step, step 0 the trained model's.
    similarity : str
        The similarity used.
    """

    blocks: tuple = ()
    maps: np.ndarray = None
    similarity: str = "spearman"

    def __repr__(self):
        return (f"RandomisationCurve({self.similarity} AUC={self.auc:.3f} (lower is better), "
                f"final {self.scores[-1]:.3f}, target {self.target}, {len(self.scores)} points)")


def model_randomisation(model: Classifier, image: np.ndarray, method: str | Explanation, *,
                        method_params: dict | None = None, target: int | str | None = None,
                        steps: int | None = None, similarity: str = "spearman",
                        seed: int | None = 0,
                        progress: bool | Callable[[int, int], object] = False
                        ) -> RandomisationCurve:
    """Cascading model-parameter randomisation (Adebayo et al. 2018).

    A copy of the model is randomised block by block from the output down (the blocks of
    :func:`weight_blocks`, top first); after each step the image is explained again, for
    the same class with the same explainer seed, and compared with the trained model's
    map. The caller's model is never modified: the copy is a separate Keras model
    (``keras.models.clone_model``, refused if it shared a weight), run on TensorFlow.

    Choices: **cascading**, top-down (Adebayo et al.'s main test, Quantus's
    ``layer_order="top_down"``). **Randomising** a weight array shuffles all its entries
    (a random permutation of its values), which keeps each layer's weight distribution,
    so activations keep their scale, and destroys what was learnt. Adebayo et al. draw
    fresh weights from a truncated normal; Quantus permutes along the first axis only,
    which leaves a 1 x 1 convolution (kernel shape (1, 1, in, out), half of
    EfficientNet's and MobileNet's convolutions) unchanged. **Similarity**: Spearman rank
    correlation of the *absolute* maps by default (Quantus's MPRT default, and one of
    Adebayo et al.'s two; they also report SSIM, ``similarity="ssim"``). **Score**: the
    area under the similarity curve over the fraction of blocks randomised, i.e. the mean
    similarity along the cascade, so a map that changes early scores lower than one that
    changes only when the first layers go; ``curve.scores[-1]`` is the fully randomised
    model's (Quantus's ``return_last_correlation``).

    Parameters
    ----------
    model : labkit.Classifier
    image : ndarray, shape (H, W, 3)
        RGB pixels, uint8 or float in [0, 255].
    method : str or Explanation
        A method name, or an Explanation of ``image`` (its method, parameters, class and
        seed are reused, and its map is the trained model's).
    method_params : dict, optional
        The method's parameters, with a method name.
    target : int or str, optional
        The class; default the Explanation's, else the model's top prediction.
    steps : int, optional
        How many times to re-explain. None (default): after every block (19 for
        EfficientNet-Lite0). An int k: the blocks, top first, are split into k groups of
        nearly equal size (``numpy.array_split``), randomised one group per step; fewer
        steps are cheaper and coarser.
    similarity : {"spearman", "ssim", "pcc"}
    seed : int or None
        Seeds the shuffles; with a method name also the explainer.
    progress : bool or callable
        Progress over the steps.

    Returns
    -------
    RandomisationCurve
        A :class:`CurveScore` (``metric="model_randomisation"``, ``higher_is_better``
        False) with the blocks and the maps of each step. Its ``auc`` is ``nan`` (with a
        :class:`ConstantMapWarning`) when the trained model's map is constant.
    """
    explained = resolve(model, image, method, method_params, target, "model_randomisation")
    _check_similarity(similarity, "model_randomisation: similarity")
    blocks = weight_blocks(model)[::-1]
    if not blocks:
        raise ParameterError(f"model_randomisation: {model.name!r} has no layer with weights "
                             "to randomise.")
    if steps is not None:
        steps = check_int(steps, "steps", maximum=len(blocks))
    seed = check_seed(seed)
    explained = first_explanation(explained, model, seed)
    groups = np.array_split(np.arange(len(blocks)), steps or len(blocks))
    names = [blocks[g[-1]][0] for g in groups]
    fractions = np.array([0.0] + [(g[-1] + 1) / len(blocks) for g in groups])
    original = explained.original.saliency

    rng = np.random.default_rng(seed)
    copy, lock = _copy_of(model)
    blocks = weight_blocks(copy)[::-1]  # clone_model keeps the names and the order
    maps, scores = [original], [_compare(original, original, similarity, True,
                                         ("the trained model's map",) * 2)]
    with lock:
        copy.model.set_weights(model.model.get_weights())
        for group in track(groups, progress, "model_randomisation"):
            for index in group:
                for layer in blocks[index][1]:
                    for variable in layer.weights:
                        values = np.asarray(variable.numpy())
                        variable.assign(rng.permutation(values.ravel()).reshape(values.shape))
            saliency = explained.again(copy).saliency
            maps.append(saliency)
            which = ("the trained model's map",
                     f"the map after randomising down to {blocks[group[-1]][0]}")
            scores.append(_compare(original, saliency, similarity, True, which))
    scores = np.asarray(scores, dtype=np.float64)
    maps = np.stack(maps).astype(np.float32)
    for array in (fractions, scores, maps):
        array.setflags(write=False)
    return RandomisationCurve(auc=float(trapezoid(scores, fractions)), fractions=fractions,
                              scores=scores, metric="model_randomisation",
                              target=explained.target, higher_is_better=False,
                              blocks=("",) + tuple(names), maps=maps, similarity=similarity)


def random_logit(model: Classifier, image: np.ndarray, method: str | Explanation, *,
                 method_params: dict | None = None, target: int | str | None = None,
                 similarity: str = "ssim", seed: int | None = 0) -> float:
    """Random-logit test (Sixt et al. 2020): the map of another class, against the map.

    One other class is drawn uniformly among the model's other classes (seeded), the
    image is explained for it with the same explainer, parameters and seed, and the two
    maps are compared. A class-sensitive method gives a different map (low similarity);
    a class-agnostic one, such as FEM, gives the same map (similarity 1).

    Choices: **one** random other class (Quantus's ``RandomLogit``; Sixt et al. show maps
    for random classes); **SSIM** by default (Quantus's default), on the **signed** maps
    (Quantus: ``abs=False``): a map whose sign flips for the other class (LIME's evidence
    for and against) has changed.

    Parameters
    ----------
    model : labkit.Classifier
    image : ndarray, shape (H, W, 3)
    method : str or Explanation
        As in :func:`model_randomisation`.
    method_params : dict, optional
    target : int or str, optional
        The class; default the Explanation's, else the model's top prediction.
    similarity : {"ssim", "spearman", "pcc"}
    seed : int or None
        Picks the other class; with a method name also seeds the explainer.

    Returns
    -------
    float in [-1, 1]
        **Lower is better.** ``nan`` with a :class:`ConstantMapWarning` when either map is
        constant.
    """
    explained = resolve(model, image, method, method_params, target, "random_logit")
    _check_similarity(similarity, "random_logit: similarity")
    if model.num_classes < 2:
        raise ParameterError(f"random_logit: {model.name!r} has a single class; there is no "
                             "other class to explain.")
    seed = check_seed(seed)
    explained = first_explanation(explained, model, seed)
    draw = int(np.random.default_rng(seed).integers(model.num_classes - 1))
    other = draw + (draw >= explained.target)
    other_map = explained.again(model, target=other).saliency
    return _compare(explained.original.saliency, other_map, similarity, False,
                    (f"the map of class {explained.target}", f"the map of class {other}"))


def _check_similarity(kind, name):
    if not isinstance(kind, str) or kind not in SIMILARITIES:
        raise ParameterError(f"{name} must be one of {list(SIMILARITIES)}, got {kind!r}.")
    return kind
