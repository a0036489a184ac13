"""How concentrated is a map? Sparseness (Gini index) and complexity (entropy).

Neither needs the model or a ground truth: they read the map alone. A map that puts all
its mass on a few pixels is easier to read than one spread thin over the image (Chalasani
et al. 2020; Bhatt et al. 2020), whether or not it is faithful, so these scores are read
*next to* faithfulness and localisation, never instead of them.

Choices (the same as Quantus 0.6's ``Sparseness`` and ``Complexity`` with their defaults,
``abs=True, normalise=True``; ``tests/test_metric_families.py`` compares them):

- **absolute values**: a strongly negative pixel (LIME's evidence against the class) counts
  as much as a strongly positive one.
- **the whole map at its resolution**, flattened: every pixel is a feature.
- **no offsets**: Quantus adds 1e-7 to the max-normalised map before the Gini index and
  1e-12 inside the logarithm, against divisions by zero. labkit computes the exact
  formulas and returns ``nan`` with a :class:`ConstantMapWarning` for the one map where
  they are undefined, a map that is zero everywhere. On real maps the two agree to about
  1e-6; Quantus's offset only shows on extremely sparse maps (a one-pixel map of 224 x 224
  scores ``(1 - 1/n) / (1 + n * 1e-7)`` = 0.995 there and 1 - 1/n here).

References
----------
Chalasani, Li, Jha, Wu & Jha (2020). Concise explanations of neural networks using
adversarial training. ICML.
Bhatt, Weller & Moura (2020). Evaluating and aggregating feature-based model explanations.
IJCAI.
Hurley & Rickard (2009). Comparing measures of sparsity. IEEE Trans. Inf. Theory 55(10).
"""
from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import numpy as np

from ._maps import ConstantMapWarning, as_map

if TYPE_CHECKING:
    from ..explainers import Explanation

__all__ = ["complexity", "sparseness"]


def _magnitudes(saliency, metric):
    """The absolute map, flattened; None (after a warning) when it is zero everywhere."""
    values = np.abs(as_map(saliency, "saliency")).ravel()
    if values.max() > 0:
        return values
    warnings.warn(f"saliency is zero everywhere: it gives no pixel any importance, so its "
                  f"{metric} is undefined and returns nan.", ConstantMapWarning, stacklevel=3)
    return None


def sparseness(saliency: np.ndarray | Explanation) -> float:
    """Gini index of the absolute map (Chalasani et al. 2020): how few pixels hold the mass.

    With the absolute values sorted in ascending order, ``a_1 <= ... <= a_n``,

    .. math:: G = \\frac{\\sum_{i=1}^{n} (2i - n - 1)\\, a_i}{n \\sum_{i=1}^{n} a_i}

    (Hurley & Rickard 2009), the formula of Quantus's ``Sparseness``. Scale-free: the map's
    units do not matter.

    Parameters
    ----------
    saliency : ndarray, shape (H, W), or Explanation

    Returns
    -------
    float in [0, 1 - 1/n]
        **Higher is sparser** (more concentrated). 0 for a map equal everywhere (every pixel
        equally important); ``1 - 1/n`` for a map with a single non-zero pixel (n pixels).
        ``nan`` with a :class:`ConstantMapWarning` for a map that is zero everywhere.
    """
    values = _magnitudes(saliency, "sparseness")
    if values is None:
        return float("nan")
    ordered = np.sort(values)
    n = ordered.size
    rank = np.arange(1, n + 1, dtype=np.float64)
    gini = ((2 * rank - n - 1) * ordered).sum() / (n * ordered.sum())
    return float(min(max(gini, 0.0), 1 - 1 / n))  # rounding can step just outside


def complexity(saliency: np.ndarray | Explanation) -> float:
    """Entropy of the absolute map normalised to sum 1 (Bhatt et al. 2020), in nats.

    With ``p_i = |a_i| / sum_j |a_j|`` the share of pixel i in the map's total mass,

    .. math:: H = -\\sum_i p_i \\ln p_i  \\qquad (0 \\ln 0 = 0),

    the formula of Quantus's ``Complexity`` (natural logarithm, every pixel a feature).

    Parameters
    ----------
    saliency : ndarray, shape (H, W), or Explanation

    Returns
    -------
    float in [0, ln n]
        **Lower is simpler** (more concentrated). 0 for a single non-zero pixel; ``ln n``
        (10.82 for 224 x 224) for a map equal everywhere. ``nan`` with a
        :class:`ConstantMapWarning` for a map that is zero everywhere.
    """
    values = _magnitudes(saliency, "complexity")
    if values is None:
        return float("nan")
    share = values / values.sum()
    share = share[share > 0]
    return float(max(-(share * np.log(share)).sum(), 0.0))
