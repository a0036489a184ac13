"""`course_images`: the course's own class folders when an instructor has dropped them in,
the shipped photos of the same ImageNet classes otherwise, behind one call."""
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .._checks import check_int
from .folders import load_folder
from .images import check_size
from .samples import SAMPLES, list_samples, sample_image

# Folder names (normalised: lower case, words split by spaces) that count as a course class,
# and the ImageNet-1k class whose shipped photos stand in for it. "elephant" and "bear" are
# accepted because the course set has only these two animals; a folder of Asian elephants or
# brown bears named that way would be taken too, so name folders precisely if you mix species.
ALIASES = {
    "african elephant": ("African elephant",
                         {"african elephant", "african elephants", "elephant", "elephants",
                          "loxodonta africana"}),
    "black bear": ("American black bear",
                   {"black bear", "black bears", "american black bear", "american black bears",
                    "bear", "bears", "ursus americanus"}),
}
ALIASES["american black bear"] = ALIASES["black bear"]


def _normalise(name):
    return " ".join(re.split(r"[\s_\-]+", str(name).strip().lower())).strip()


def _folder_names(cls):
    """Every normalised folder name accepted for the class ``cls``."""
    key = _normalise(cls)
    names = {key, key + "s"}
    if key in ALIASES:
        names |= ALIASES[key][1]
    return names


def _imagenet_class(cls):
    """The ImageNet class whose shipped photos stand in for ``cls``, or None."""
    key = _normalise(cls)
    if key in ALIASES:
        return ALIASES[key][0]
    return next((s.imagenet_class for s in SAMPLES.values()
                 if s.imagenet_class and s.imagenet_class.lower() == key), None)


@dataclass(frozen=True)
class CourseImages(Mapping):
    """Images per class, in the order the classes were asked for.

    Behaves as a read-only mapping ``{class: {image name: (H, W, 3) uint8 image}}``;
    within a class, images are sorted by file name (folders) or listed in
    :func:`list_samples` order (shipped photos).

    Attributes
    ----------
    source : {"folders", "samples"}
        "folders": the images come from class folders under ``root``; "samples": no
        class folder was found, these are the photos shipped with labkit.
    root : pathlib.Path
        The folder that was searched.
    folders : dict
        ``{class: Path of its folder}`` when ``source == "folders"``, else empty.
    """

    images: dict
    source: str
    root: Path
    folders: dict = field(default_factory=dict)

    def __getitem__(self, cls):
        return self.images[cls]

    def __iter__(self):
        return iter(self.images)

    def __len__(self):
        return len(self.images)

    def __repr__(self):
        counts = ", ".join(f"{cls}: {len(images)}" for cls, images in self.images.items())
        return f"CourseImages(source={self.source!r}, root={str(self.root)!r}, {counts})"


def course_images(root="../data", classes=("African_elephant", "black_bear"), size=224, *,
                  limit=None):
    """The course's images per class: its own folders if present, else the shipped photos.

    Looks under ``root`` for one folder per class. A folder matches a class when the
    names agree ignoring case, spaces, ``_`` and ``-`` and a plural ``s``
    ("African_elephant", "african elephant", "African-Elephants"). Two classes also
    accept short names, documented in :data:`ALIASES`: "African_elephant" matches
    "elephant(s)" and "Loxodonta africana"; "black_bear" matches "American black
    bear", "bear(s)" and "Ursus americanus". When no class folder exists (or ``root``
    does not), the photos shipped with labkit whose ImageNet class matches are used
    instead: "African elephant" for "African_elephant", "American black bear" for
    "black_bear", or any class spelt as in :func:`list_samples`.

    Parameters
    ----------
    root : str or path-like
        Folder holding the class folders, relative to the working directory (a notebook's
        own folder): "../data" from ``notebooks/``. See ``data/README.md``.
    classes : sequence of str
        Classes wanted, in this order.
    size : int or (int, int)
        As in :func:`load_image`: int -> shorter side resized then centre-cropped to a
        square (default 224, the classifiers' input); (height, width) -> exact resize.
    limit : int, optional
        At most this many images per class (the first by file name, or the first
        shipped photos in :func:`list_samples` order).

    Returns
    -------
    CourseImages
        ``{class: {image name: (H, W, 3) uint8}}``, with ``.source`` ("folders" or
        "samples"), ``.root`` and ``.folders``.

    Raises
    ------
    NotADirectoryError
        If ``root`` is a file.
    FileNotFoundError
        If only some classes have a folder (the message names the missing ones and the
        folders found), or a class folder holds no image.
    ValueError
        If two folders match one class, or, with no folders, a class has no shipped photo.
    """
    if isinstance(classes, str):
        raise TypeError("classes must be a list of class names, e.g. ['African_elephant', "
                        f"'black_bear'], not the string {classes!r}.")
    classes = [str(c) for c in classes]
    if not classes:
        raise ValueError("classes is empty; name at least one class, e.g. ['African_elephant'].")
    if check_size(size) is None:
        raise ValueError("size must be given (an int such as 224): the labs feed the images "
                         "to classifiers of fixed input size.")
    limit = check_int(limit, "limit") if limit is not None else None
    root = Path(root)
    if root.exists() and not root.is_dir():
        raise NotADirectoryError(f"root {root} is a file; point it at the folder that holds the "
                                 "class folders (see data/README.md).")
    found = _match_folders(root, classes) if root.is_dir() else {}
    if found:
        missing = [c for c in classes if c not in found]
        if missing:
            raise FileNotFoundError(
                f"{root} has folders for {', '.join(found)} but none for {', '.join(missing)}; "
                f"add {root / missing[0]}/ or leave that class out of classes=[...].")
        data = load_folder(root, size, classes=[found[c].name for c in classes], limit=limit)
        images = {c: {} for c in classes}
        for image, label, path in zip(data.images, data.labels, data.paths):
            images[classes[label]][path.name] = image
        return CourseImages(images, "folders", root, {c: found[c] for c in classes})
    images = {}
    for cls in classes:
        imagenet_class = _imagenet_class(cls)
        if imagenet_class is None:
            have = sorted({s.imagenet_class for s in SAMPLES.values() if s.imagenet_class})
            raise ValueError(f"no folder for class {cls!r} under {root} and no shipped photo of "
                             f"it; add {root / cls}/ with its images, or choose among: "
                             f"{', '.join(have)}.")
        rows = list_samples(imagenet_class=imagenet_class)[:limit]
        images[cls] = {row["name"]: sample_image(row["name"], size=size) for row in rows}
    return CourseImages(images, "samples", root)


def _match_folders(root, classes):
    """{class: folder} for the classes that have exactly one matching folder under root."""
    folders = [p for p in sorted(root.iterdir()) if p.is_dir() and not p.name.startswith(".")]
    found = {}
    for cls in classes:
        accepted = _folder_names(cls)
        hits = [p for p in folders if _normalise(p.name) in accepted]
        if len(hits) > 1:
            raise ValueError(f"several folders under {root} match class {cls!r}: "
                             f"{', '.join(p.name for p in hits)}; keep one.")
        if hits:
            found[cls] = hits[0]
    return found
