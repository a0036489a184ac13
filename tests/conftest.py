"""Shared fixtures: real models and real photos from installed packages.

Tests marked ``weights`` need the MobileNet ImageNet weights in the Keras cache
(``.ci/run`` seeds it from ../shared/weights). Locally they skip when the file is
missing; in CI (``CI=true``) they fail, so a broken cache can never pass silently.
"""
import os

import numpy as np
import pytest
import skimage.data
from skimage.transform import resize

CAT_BOX = (90, 40, 100, 150)  # row, col, height, width of the pasted cat, in pixels


def _weights_or_skip(name):
    from labkit.models import WeightsNotFoundError, load_model
    try:
        return load_model(name)
    except WeightsNotFoundError as err:
        if os.environ.get("CI"):
            pytest.fail(f"CI must have the offline weights: {err}")
        pytest.skip(str(err))


@pytest.fixture(scope="session")
def mobilenet():
    return _weights_or_skip("mobilenet")


@pytest.fixture(scope="session")
def random_mobilenet():
    from labkit.models import load_model
    return load_model("mobilenet", weights=None)


def _uint8(image, shape):
    return (resize(image, shape, anti_aliasing=True) * 255).round().astype(np.uint8)


@pytest.fixture(scope="session")
def chelsea():
    """The scikit-image cat, centre-cropped to a square and resized to 224x224."""
    return _uint8(skimage.data.chelsea()[:, 75:375], (224, 224))


@pytest.fixture(scope="session")
def cat_on_grass():
    """(image, mask): the chelsea cat pasted at a known place on a grass texture."""
    grass = _uint8(skimage.data.grass(), (224, 224))
    image = np.repeat(grass[..., None], 3, axis=2)
    r, c, h, w = CAT_BOX
    image[r:r + h, c:c + w] = _uint8(skimage.data.chelsea(), (h, w))
    mask = np.zeros((224, 224), bool)
    mask[r:r + h, c:c + w] = True
    return image, mask
