"""Photos that ship inside installed packages, so every lab runs offline."""
from dataclasses import dataclass
from typing import Callable, Optional

from .images import load_image


@dataclass(frozen=True)
class Sample:
    """One bundled photo and where it comes from.

    ``imagenet_class`` is the ImageNet-1k class that MobileNet (alpha 0.75) ranks
    first on the 224 x 224 centre crop, kept only where a person agrees; None when no
    ImageNet class fits the photo.
    """

    name: str
    package: str
    licence: str
    description: str
    imagenet_class: Optional[str]
    load: Callable


def _skimage(name):
    def load():
        import skimage.data
        return getattr(skimage.data, name)()
    return load


def _motorcycle():
    import skimage.data
    return skimage.data.stereo_motorcycle()[0]


def _grace_hopper():
    from matplotlib.cbook import get_sample_data
    return get_sample_data("grace_hopper.jpg", asfileobj=False)


def _sklearn(filename):
    def load():
        from sklearn.datasets import load_sample_image
        return load_sample_image(filename)
    return load


# Licences as the packages state them: the skimage.data docstrings, matplotlib PR #1599
# (which added Grace Hopper as a public-domain replacement for Lena) and
# sklearn/datasets/images/README.txt.
_SAMPLES = [
    Sample("chelsea", "scikit-image", "CC0 (photographer Stefan van der Walt)",
           "Chelsea the cat, close-up of the face.", "Egyptian cat", _skimage("chelsea")),
    Sample("coffee", "scikit-image", "CC0 (photographer Rachel Michetti)",
           "An espresso cup on a saucer, on a wooden table (Pikolo Espresso Bar).", "espresso",
           _skimage("coffee")),
    Sample("rocket", "scikit-image", "Public domain (SpaceX launch photo)",
           "Falcon 9 with DSCOVR on the launch pad at dusk; ImageNet has no class that "
           "classifiers find for it (a hard case).", None, _skimage("rocket")),
    Sample("astronaut", "scikit-image", "Public domain (NASA, no known copyright restrictions)",
           "Portrait of astronaut Eileen Collins with a flag and a helmet; several objects, no "
           "single ImageNet class.", None, _skimage("astronaut")),
    Sample("motorcycle", "scikit-image",
           "No licence stated by scikit-image; Middlebury 2014 stereo benchmark (Scharstein et "
           "al., GCPR 2014): cite the paper, check its terms before redistributing",
           "A red motorcycle in a garage (left image of the stereo pair).", "moped", _motorcycle),
    Sample("grace_hopper", "matplotlib", "Public domain (U.S. Navy photograph)",
           "Official portrait of Rear Admiral Grace Hopper in uniform.", "military uniform",
           _grace_hopper),
    Sample("china", "scikit-learn", "CC BY 2.0 (danielbuechele on Flickr)",
           "A Chinese temple roof and garden.", "palace", _sklearn("china.jpg")),
    Sample("flower", "scikit-learn",
           "CC BY 2.0 (vultilion on Flickr; scikit-learn's README credits danielbuechele by a "
           "copy-paste slip, its link is vultilion's photo)",
           "Close-up of a pink flower; no ImageNet flower class fits.", None,
           _sklearn("flower.jpg")),
]
SAMPLES = {sample.name: sample for sample in _SAMPLES}


def sample_image(name, size=224):
    """A bundled photo as RGB uint8 pixels, offline.

    Parameters
    ----------
    name : str
        One of :data:`SAMPLES` (see :func:`list_samples`).
    size : int, (int, int) or None
        As in :func:`load_image`: int -> shorter side resized then centre-cropped to a
        square (default 224, the classifiers' input); None -> original size.

    Returns
    -------
    numpy.ndarray
        (H, W, 3) uint8.
    """
    if name not in SAMPLES:
        raise KeyError(f"no sample named {name!r}; choose one of {', '.join(SAMPLES)}.")
    return load_image(SAMPLES[name].load(), size=size)


def list_samples():
    """The bundled photos as a list of dicts (name, package, licence, imagenet_class,
    description): ``pandas.DataFrame(list_samples())`` shows them as a table."""
    return [{"name": s.name, "package": s.package, "licence": s.licence,
             "imagenet_class": s.imagenet_class, "description": s.description} for s in _SAMPLES]
