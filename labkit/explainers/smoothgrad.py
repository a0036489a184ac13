"""SmoothGrad (Smilkov, Thorat, Kim, Viégas & Wattenberg, 2017)."""
import numpy as np

from .._work import track
from ._record import Explainer, Param
from .gradients import input_gradients

#: The pixel range the noise level is a fraction of.
PIXEL_RANGE = 255.0


def smoothgrad(model, pixels, target, *, seed=0, progress=False, num_samples=50,
               noise_level=0.15):
    """SmoothGrad saliency of ``target``: the gradient averaged over noisy copies.

    The gradient of the class **logit** with respect to the pixels is noisy from pixel to
    pixel; averaging it over copies of the image with Gaussian noise added smooths it
    (the paper's definition):

        mean_gradient = 1/n sum_i d logit(x + N(0, sigma^2)) / d x

    Choices, where implementations differ:

    - **sigma = noise_level * 255**, a fraction of the pixel range [0, 255], in pixel
      space (before preprocessing). The paper's noise level is sigma / (x_max - x_min);
      PAIR's ``saliency`` package takes x_max - x_min from the image itself, which is
      close to 255 for a photo; a fixed range makes sigma independent of the image.
      The paper finds 10-20 % best; 0 gives the plain gradient.
    - **Noise is not clipped** to [0, 255], as in the paper, PAIR and captum: clipping
      would make the noise one-sided on dark and bright pixels and shift their mean.
      labkit's preprocessings are affine, so values outside [0, 255] still mean
      something to the model.
    - **Mean, then absolute value.** ``mean_gradient`` averages the signed gradients
      (the paper's definition, PAIR's ``magnitude=False``); the map is the channel sum
      of its absolute values (the paper's display, PAIR's ``VisualizeImageGrayscale``).
      captum's ``NoiseTunnel`` around its default ``Saliency(abs=True)`` averages the
      absolute gradients instead, and PAIR's default ``magnitude=True`` their squares:
      both differ from ours wherever the gradient's sign flips between noisy copies.
    - **Seeded.** ``numpy.random.default_rng(seed)`` draws the noisy copies one at a
      time in order, so the same seed gives the same map whatever the batch size.

    Parameters
    ----------
    num_samples : int, >= 1
        n, the noisy copies (one forward and backward pass each). The paper sees little
        change beyond 50.
    noise_level : float in [0, 1]
        sigma as a fraction of the pixel range.

    Extras
    ------
    mean_gradient (H, W, 3) signed, in logit units per pixel level; sigma, the noise's
    standard deviation in pixel levels; num_samples; noise_level.
    """
    sigma = noise_level * PIXEL_RANGE
    rng = np.random.default_rng(seed)
    b = model.batch_size
    total = np.zeros(pixels.shape, np.float64)
    for i in track(range(0, num_samples, b), progress, "SmoothGrad"):
        n = min(b, num_samples - i)
        noise = np.stack([rng.standard_normal(pixels.shape, dtype=np.float32)
                          for _ in range(n)])
        grads, _ = input_gradients(model, pixels + sigma * noise, target)
        total += grads.sum(axis=0, dtype=np.float64)
    mean_gradient = (total / num_samples).astype(np.float32)
    extras = {"mean_gradient": mean_gradient, "sigma": sigma, "num_samples": num_samples,
              "noise_level": noise_level}
    used = {"num_samples": num_samples, "noise_level": noise_level}
    return np.abs(mean_gradient).sum(axis=-1), extras, used


SMOOTHGRAD = Explainer(
    "smoothgrad", smoothgrad,
    (Param("num_samples", "int", low=1, limit=500, widget=("count",), label="noisy samples n"),
     Param("noise_level", "float", low=0, high=1, widget=("slider", 0.0, 0.5, 0.05),
           label="noise level (sigma / 255)")),
    stochastic=True, needs_gradients=True,
    summary="gradients averaged over noisy copies of the image (Smilkov et al. 2017)")
