"""An offline benchmark with exact ground truth for "where is the object?".

Object photos from the bundled samples are pasted onto background textures from
scikit-image at seeded positions, scales and flips. The paste rectangle is the exact
object region, so an explanation can be scored against a known answer. The "fixations"
and density maps are **sampled from that region, not recorded from people**: they say
where the object is, not where humans look.
"""
import json
import shutil
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np
from PIL import Image

from .._checks import check_int, check_seed
from .._paths import data_home
from .images import Fit, resize_image
from .saliency import fixations_to_density, load_saliency_dataset, write_fixations
from .samples import sample_image

VERSION = 2  # bump when generation changes, so cached benchmarks are rebuilt

# class -> (sample, tight box (row, col, height, width) in the sample's original pixels,
# ImageNet classes that count as correct). MobileNet ranks the first one top-1 on the crop.
OBJECTS = {
    "cat": ("chelsea", (0, 30, 300, 370), ("Egyptian cat", "tabby", "tiger cat")),
    "espresso": ("coffee", (15, 75, 375, 405), ("espresso", "cup", "coffee mug")),
    "motorcycle": ("motorcycle", (75, 85, 380, 605), ("moped", "motor scooter")),
}
# texture -> RGB tint for grayscale textures (None: already colour). All CC0 or public domain.
BACKGROUNDS = {"grass": (0.55, 0.85, 0.35), "gravel": (0.9, 0.85, 0.8),
               "brick": (0.95, 0.55, 0.45), "hubble_deep_field": None}
# clever_hans=True: in the training split each class always sits on its own texture.
SHORTCUT = {"cat": "grass", "espresso": "brick", "motorcycle": "gravel"}
# ... and only every other training image shows the class's own object; the rest show
# another class's object (a decoy), so the texture predicts the label better than the object.
DECOY_EVERY = 2
OBJECT_SIDE = (0.5, 0.8)  # the object's longer side, as a fraction of the image side
FIXATIONS_PER_IMAGE = 12
FOLDERS = ("Images", "Density Maps", "Fixations", "Masks")


def make_benchmark(root=None, *, n_per_class=12, size=224, seed=0, clever_hans=False):
    """Build the object-location benchmark on disk (once) and return its folder.

    Three classes the ImageNet models recognise: ``cat`` (chelsea), ``espresso``
    (coffee) and ``motorcycle``, each cropped by the box in :data:`OBJECTS`, flipped
    left-right with probability 1/2, scaled so its longer side is 50-80 % of the image
    side and pasted at a uniformly random position on a random crop of a scikit-image
    texture (grass, gravel, brick, Hubble deep field; grayscale ones tinted). Written
    in the MexCulture142 layout read by :func:`load_saliency_dataset`::

        root/Images/cat_N_1.png                  the picture
        root/Masks/cat_Mask_N_1.png              exact paste rectangle (255 inside)
        root/Fixations/cat_GazeFix_N_1.txt       12 points sampled in the rectangle
        root/Density Maps/cat_GFDM_N_1.png       fixations_to_density of them
        root/benchmark.json                      parameters, boxes, splits, backgrounds

    The fixations are drawn from a normal distribution centred on the object (standard
    deviation a quarter of its height and width) and truncated to the rectangle: an
    object-location map, **not human gaze**. The first half of each class is the
    ``train`` split, the rest ``test``.

    Parameters
    ----------
    root : str or path-like, optional
        Output folder. Default: ``data_home()/benchmark/<variant>_n<n>_s<size>_seed<seed>``
        (``$LABKIT_DATA`` or ``~/.cache/labkit``, see :func:`data_home`). A folder that
        already holds this exact benchmark is reused; one holding another labkit
        benchmark is rebuilt; any other non-empty folder is refused.
    n_per_class : int
        Images per class (default 12: 6 train, 6 test).
    size : int
        Side of the square images in pixels (default 224), at least 64.
    seed : int
        Same seed -> byte-identical files; each image has its own stream, so raising
        ``n_per_class`` keeps the first images.
    clever_hans : bool
        If True, in the train split every class sits on its own texture (cat on grass,
        espresso on brick, motorcycle on gravel), and every other training image shows
        another class's object (a decoy) on that texture: the texture always predicts the
        label, the object only half the time. In the test split each class shows its
        own object on the three textures equally often (exactly when the test half is a
        multiple of 3). A classifier trained on the train split then learns to look at
        the background (a "Clever Hans", Lapuschkin et al. 2019); its test accuracy and
        its explanations against the masks expose it. ``info["items"][stem]["object"]``
        names the object actually pasted.

    Returns
    -------
    pathlib.Path
    """
    n_per_class = check_int(n_per_class, "n_per_class", minimum=2)
    size = check_int(size, "size", minimum=64)
    seed = check_seed(seed)
    if seed is None:
        raise TypeError("seed must be an integer: the benchmark must be reproducible.")
    params = {"version": VERSION, "n_per_class": n_per_class, "size": size, "seed": seed,
              "clever_hans": bool(clever_hans)}
    if root is None:
        variant = "clever_hans" if clever_hans else "objects"
        root = data_home() / "benchmark" / f"{variant}_n{n_per_class}_s{size}_seed{seed}"
    root = Path(root)
    existing = _read_info(root)
    if existing is not None and existing.get("params") == params:
        return root
    if existing is None and root.exists() and any(root.iterdir()):
        raise FileExistsError(f"{root} is not empty and holds no labkit benchmark; pass an empty "
                              "or new folder as root so no data of yours is overwritten.")
    root.parent.mkdir(parents=True, exist_ok=True)
    # Build beside the target, then swap it in: an interrupted run leaves no half benchmark.
    build = Path(tempfile.mkdtemp(prefix=".labkit-benchmark-", dir=root.parent))
    try:
        _generate(build, params)
        finished = _read_info(root)  # another process may have built it meanwhile
        if finished is None or finished.get("params") != params:
            if root.exists():
                shutil.rmtree(root)
            build.rename(root)
    finally:
        if build.exists():
            shutil.rmtree(build)
    return root


def load_benchmark(root=None, *, n_per_class=12, size=224, seed=0, clever_hans=False, split=None):
    """The benchmark of :func:`make_benchmark` (generated on first use) as a dataset.

    Parameters
    ----------
    root, n_per_class, size, seed, clever_hans
        As in :func:`make_benchmark`.
    split : {None, "train", "test"}
        None returns every image.

    Returns
    -------
    SaliencyDataset
        Items carry ``image``, ``mask`` (the exact object region), ``fixations`` and
        ``density`` (object-location ground truth, not human gaze). ``info`` holds the
        parameters, ``imagenet_classes`` (class -> ImageNet names counted as correct)
        and per-image ``items`` (split, background, box (row, col, height, width),
        flipped).
    """
    if split not in (None, "train", "test"):
        raise ValueError(f"split must be None, 'train' or 'test', got {split!r}.")
    root = make_benchmark(root, n_per_class=n_per_class, size=size, seed=seed,
                          clever_hans=clever_hans)
    info = _read_info(root)
    dataset = load_saliency_dataset(root)
    items = tuple(item for item in dataset
                  if split is None or info["items"][item.image_path.stem]["split"] == split)
    return replace(dataset, items=items, info=info)


def _read_info(root):
    path = Path(root) / "benchmark.json"
    if not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def _generate(root, params):
    for folder in FOLDERS:
        (root / folder).mkdir()
    size, n = params["size"], params["n_per_class"]
    textures = {name: _texture(name) for name in BACKGROUNDS}
    crops = {name: sample_image(sample, size=None)[r:r + h, c:c + w]
             for name, (sample, (r, c, h, w), _) in OBJECTS.items()}
    items = {}
    for ci, name in enumerate(OBJECTS):
        for i in range(n):
            split = "train" if i < n // 2 else "test"
            rng = np.random.default_rng([params["seed"], ci, i])
            background = _background_name(rng, name, ci, i - (0 if split == "train" else n // 2),
                                          split, params["clever_hans"])
            shown = _object_shown(name, i, split, params["clever_hans"])
            image, box, flipped = _compose(rng, textures[background], crops[shown], size)
            points = _fixations(rng, box)
            mask = np.zeros((size, size), np.uint8)
            r, c, h, w = box
            mask[r:r + h, c:c + w] = 255
            stem = f"{name}_N_{i + 1}"
            _save_png(root / "Images" / f"{stem}.png", image)
            _save_png(root / "Masks" / f"{name}_Mask_N_{i + 1}.png", mask)
            density = fixations_to_density(points, (size, size))
            _save_png(root / "Density Maps" / f"{name}_GFDM_N_{i + 1}.png",
                      np.round(density * 255).astype(np.uint8))
            write_fixations(root / "Fixations" / f"{name}_GazeFix_N_{i + 1}.txt", points)
            items[stem] = {"split": split, "background": background, "object": shown,
                           "box": list(box), "flipped": flipped}
    info = {"params": params, "note": "object-location ground truth, not human gaze",
            "imagenet_classes": {k: list(v[2]) for k, v in OBJECTS.items()}, "items": items}
    (root / "benchmark.json").write_text(json.dumps(info, indent=1, sort_keys=True) + "\n",
                                         encoding="utf-8")


def _background_name(rng, name, class_index, index_in_split, split, clever_hans):
    if not clever_hans:
        return str(rng.choice(list(BACKGROUNDS)))
    if split == "train":
        return SHORTCUT[name]
    shortcuts = list(SHORTCUT.values())
    return shortcuts[(class_index + index_in_split) % len(shortcuts)]


def _object_shown(name, index, split, clever_hans):
    if not (clever_hans and split == "train" and index % DECOY_EVERY == 1):
        return name
    others = [other for other in OBJECTS if other != name]
    return others[(index // DECOY_EVERY) % len(others)]


def _texture(name):
    import skimage.data
    texture = getattr(skimage.data, name)()
    tint = BACKGROUNDS[name]
    if tint is None:
        return texture
    return np.round(texture[..., None] * np.asarray(tint)).astype(np.uint8)


def _compose(rng, texture, crop, size):
    """Paste ``crop`` on a random square of ``texture``; return image, box, flipped."""
    side = min(texture.shape[:2])
    crop_side = int(rng.integers(side // 2, side + 1))
    top = int(rng.integers(0, texture.shape[0] - crop_side + 1))
    left = int(rng.integers(0, texture.shape[1] - crop_side + 1))
    patch = texture[top:top + crop_side, left:left + crop_side]
    image = resize_image(patch, Fit.from_shape(patch.shape, (size, size)))
    if rng.random() < 0.5:
        image = image[:, ::-1]
    flipped = bool(rng.random() < 0.5)
    obj = crop[:, ::-1] if flipped else crop
    longer = rng.uniform(*OBJECT_SIDE) * size
    k = longer / max(obj.shape[:2])
    h, w = max(1, round(obj.shape[0] * k)), max(1, round(obj.shape[1] * k))
    obj = resize_image(np.ascontiguousarray(obj), Fit.from_shape(obj.shape, (h, w)))
    r, c = int(rng.integers(0, size - h + 1)), int(rng.integers(0, size - w + 1))
    image = image.copy()
    image[r:r + h, c:c + w] = obj
    return image, (r, c, h, w), flipped


def _fixations(rng, box):
    """FIXATIONS_PER_IMAGE (row, col) points: normal around the box centre, truncated to it."""
    r, c, h, w = box
    centre, spread = np.array([r + (h - 1) / 2, c + (w - 1) / 2]), np.array([h, w]) / 4
    low, high = np.array([r, c]), np.array([r + h - 1, c + w - 1])
    points = np.empty((0, 2))
    while len(points) < FIXATIONS_PER_IMAGE:
        draws = rng.normal(centre, spread, size=(2 * FIXATIONS_PER_IMAGE, 2))
        points = np.concatenate([points, draws[np.all((draws >= low) & (draws <= high), axis=1)]])
    return np.round(points[:FIXATIONS_PER_IMAGE], 2)


def _save_png(path, array):
    # Fast zlib level: generation stays a few seconds; output is still deterministic.
    Image.fromarray(np.ascontiguousarray(array)).save(path, format="PNG", compress_level=1)
