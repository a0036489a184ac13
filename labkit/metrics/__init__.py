"""How good is a saliency map? Metrics for one map and for a whole data set.

- ``similarity``: agreement with a ground truth: :func:`pcc`, :func:`ssim` (maps),
  :func:`iou`, :func:`pointing_game` (object masks).
- ``fidelity``: agreement with the model: :func:`insertion` (higher is better) and
  :func:`deletion` (lower is better), Petsiuk et al. 2018, returning a :class:`CurveScore`.
- ``road``: :func:`road` (Rong et al. 2022), pixels removed by noisy linear imputation
  (:func:`noisy_linear_imputation`) instead of a constant fill; MoRF lower is better,
  LeRF higher; also a :class:`CurveScore`.
- ``complexity``: how concentrated the map is, from the map alone: :func:`sparseness` (Gini
  index, higher is sparser; Chalasani et al. 2020) and :func:`complexity` (entropy, lower is
  simpler; Bhatt et al. 2020).
- ``robustness``: :func:`max_sensitivity` (Yeh et al. 2019), the largest relative change of
  the map under small noise (lower is better).
- ``randomisation``: :func:`model_randomisation` (Adebayo et al. 2018, cascading; a
  :class:`RandomisationCurve`) and :func:`random_logit` (Sixt et al. 2020): similarity to the
  map of a randomised model or of another class (lower is better).
- ``evaluate``: :func:`evaluate` runs methods x images x metrics into a tidy table,
  :func:`summarize` averages it per method; :func:`score` tabulates explanations you
  already have (settings, seeds, models); :data:`METRICS` says which way is better.
  ``evaluate(..., store=, executor=)`` keeps results in a resumable Parquet folder
  (``store``) and runs on a process pool or a Dask cluster; ``python -m labkit.evaluate``
  does the same from a terminal. With ``keep_maps=True`` the store keeps the maps too:
  :func:`load_maps` gives them back, to plot or re-score without explaining again.

Every metric accepts an :class:`~labkit.Explanation` in place of a saliency array.
"""
from ._maps import ConstantMapWarning
from .complexity import complexity, sparseness
from .evaluate import METRICS, Metric, evaluate, score, summarize
from .fidelity import CurveScore, baseline_image, deletion, insertion, rise_blur_kernel
from .randomisation import (
    RandomisationCurve,
    map_similarity,
    model_randomisation,
    random_logit,
    weight_blocks,
)
from .road import noisy_linear_imputation, road
from .robustness import max_sensitivity
from .similarity import iou, pcc, pointing_game, ssim
from .store import load_maps

__all__ = ["METRICS", "ConstantMapWarning", "CurveScore", "Metric", "RandomisationCurve",
           "baseline_image", "complexity", "deletion", "evaluate", "insertion", "iou",
           "load_maps", "map_similarity", "max_sensitivity", "model_randomisation",
           "noisy_linear_imputation", "pcc", "pointing_game", "random_logit", "rise_blur_kernel",
           "road", "score", "sparseness", "ssim", "summarize", "weight_blocks"]
