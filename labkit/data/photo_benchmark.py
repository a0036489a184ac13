"""Real photos with human-drawn object masks (COCO), shipped inside labkit.

The synthetic benchmark (:func:`labkit.data.load_benchmark`) knows exactly where its
pasted objects are; this one asks the same question of real photographs. Each photo
comes from MS COCO with the union of the instance masks that COCO's annotators drew
for its class. Only photos whose COCO licence id allows redistribution are included;
``groundtruth/ATTRIBUTION.md`` credits every photo and gives the licences.
"""
import json
from dataclasses import replace
from importlib import resources
from pathlib import Path

import numpy as np

from .._checks import check_int
from .images import Fit, resize_image, resize_map, resize_mask
from .saliency import load_saliency_dataset

#: COCO licence ids whose terms allow redistribution with attribution (CC BY 2.0,
#: CC BY-SA 2.0, no known copyright restrictions, U.S. Government work).
ALLOWED_LICENCES = {4: "Attribution License", 5: "Attribution-ShareAlike License",
                    7: "No known copyright restrictions", 8: "United States Government Work"}
#: Share of the object's pixels the 224 x 224 centre crop must keep; otherwise the crop
#: moves onto the object, and if even that loses more, the photo is letterboxed.
KEEP = 0.9


def photo_benchmark_root():
    """The folder of the bundled photo benchmark (MexCulture142 layout)."""
    return Path(str(resources.files("labkit.data") / "groundtruth"))


def load_photo_benchmark(size=224, classes=None):
    """Real COCO photos with human-drawn object masks, offline, in one call.

    Classes: ``bear``, ``bird``, ``cat``, ``dog``, ``elephant`` (few bears and elephants
    carry a licence that allows shipping them; see ``info["counts"]``). Every image
    has its COCO instance masks of that class (drawn by people, CC BY 4.0, COCO
    Consortium), united into one object mask.

    **The density map is not a gaze map.** It is the object mask blurred with a Gaussian
    of standard deviation 0.03 x the photo's longer side (about one degree of visual
    angle, the same kernel :func:`fixations_to_density` uses for one fixation), then
    scaled to max 1: "where the object is", softened so that PCC and SSIM do not reward
    a map for hitting the annotator's exact outline. People looking at a photo dwell on
    faces, heads and text rather than spreading over whole bodies (Judd et al., ICCV
    2009), so an object map is a different reference from recorded gaze; use it to ask
    "is the map on the object?".

    Parameters
    ----------
    size : int or None
        Side of the square images in pixels (default 224). The shorter side is scaled to
        ``size`` and the central square kept, as everywhere in labkit, **unless that crop
        keeps less than 90 % of the object's pixels**: then the square slides along the
        longer side to centre on the object's bounding box, and if even that keeps less
        than 90 % (an object wider than the square), the whole photo is scaled to fit
        and letterboxed with black bars. ``info["items"][stem]["fit"]`` says which
        ("centre", "object" or "letterbox"). None keeps the shipped photos (longer side
        at most 640 px, sizes differ, so ``images`` cannot be stacked).
    classes : sequence of str, optional
        Keep only these classes (in the order of ``class_names``, which stays sorted).

    Returns
    -------
    SaliencyDataset
        Items with ``image`` (uint8), ``mask`` (bool, the object), ``density`` (float32
        in [0, 1], the blurred mask), ``label``. ``info`` holds ``imagenet_classes``
        (class -> the ImageNet names counted as correct), ``counts``, ``density_sigma``
        and per-image ``items`` (COCO id and URLs, licence id/name/URL, annotation
        licence, the source snapshot that proved the licence, both models' top-1, fit).

    Examples
    --------
    >>> data = load_photo_benchmark()                                   # doctest: +SKIP
    >>> data.images.shape, data.masks.dtype, data.class_names           # doctest: +SKIP
    ((17, 224, 224, 3), dtype('bool'), ('bear', 'bird', 'cat', 'dog', 'elephant'))
    """
    if size is not None:
        size = check_int(size, "size", minimum=32)
    root = photo_benchmark_root()
    info = json.loads((root / "groundtruth.json").read_text(encoding="utf-8"))
    dataset = load_saliency_dataset(root)
    names = dataset.class_names
    if classes is not None:
        if isinstance(classes, str):
            classes = [classes]
        unknown = sorted(set(classes) - set(names))
        if unknown:
            raise ValueError(f"unknown class(es) {unknown}; the photo benchmark has "
                             f"{list(names)}.")
        names = tuple(n for n in names if n in set(classes))
    items, fits = [], {}
    for item in dataset:
        if item.class_name not in names:
            continue
        stem = item.image_path.stem
        if size is not None:
            fit, fits[stem] = object_fit(item.mask, size)
            density = resize_map(item.density, fit)
            item = replace(item, image=resize_image(item.image, fit),
                           mask=resize_mask(item.mask, fit),
                           density=density / density.max() if density.max() > 0 else density)
        items.append(replace(item, label=names.index(item.class_name)))
    info["items"] = {stem: dict(meta, fit=fits.get(stem, "none"))
                     for stem, meta in info["items"].items()
                     if meta["class"] in names}
    info["imagenet_classes"] = {k: v for k, v in info["imagenet_classes"].items() if k in names}
    info["counts"] = {n: sum(i.class_name == n for i in items) for n in names}
    info["size"] = size
    return replace(dataset, items=tuple(items), class_names=names, info=info)


def object_fit(mask, size):
    """The :class:`Fit` that makes a ``size`` square keeping the object in view.

    Centre crop if it keeps at least :data:`KEEP` of the mask's pixels; else the
    square centred on the mask's bounding box (clamped to the image); else the whole
    image scaled to fit inside the square, centred (the margins are filled with 0:
    black in the image, 0 in mask and density).

    Returns
    -------
    fit : Fit
    kind : {"centre", "object", "letterbox"}
    """
    mask = np.asarray(mask, dtype=bool)
    fit = Fit.from_shape(mask.shape, size)
    total = mask.sum()
    if total == 0 or _kept(mask, fit) >= KEEP * total:
        return fit, "centre"
    rows, cols = np.nonzero(mask)
    centre = np.array([rows.min() + rows.max() + 1, cols.min() + cols.max() + 1]) / 2
    centre = centre * np.asarray(fit.scale)
    room = np.asarray(fit.resized) - size
    offset = np.clip(np.round(centre - size / 2), 0, room).astype(int)
    moved = replace(fit, offset=(int(offset[0]), int(offset[1])))
    if _kept(mask, moved) >= KEEP * total:
        return moved, "object"
    h, w = mask.shape
    k = size / max(h, w)
    resized = (max(1, round(h * k)), max(1, round(w * k)))
    # PIL's crop fills outside the image with 0: a negative offset centres the photo.
    offset = (-((size - resized[0]) // 2), -((size - resized[1]) // 2))
    return Fit((resized[0] / h, resized[1] / w), resized, offset, (size, size)), "letterbox"


def _kept(mask, fit):
    """Object pixels (in the original grid) that land inside the fitted square."""
    rows, cols = np.nonzero(mask)
    _, inside = fit.points(np.stack([rows, cols], axis=1))
    return int(inside.sum())

