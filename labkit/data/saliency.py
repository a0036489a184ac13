"""Images with gaze ground truth: fixation density maps and the MexCulture142 layout."""
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from .._checks import check_int
from .images import Fit, check_size, inside_image, load_image, resize_image, resize_map, resize_mask

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")
DENSITY_FOLDERS = ("density maps", "densitymaps", "density_maps", "density-maps")

# Share of the image's longer side taken as 1 degree of visual angle by default: in
# MIT1003 (Judd et al., ICCV 2009) 1 degree is about 30 px on 1024-px-wide images.
DEGREE_FRACTION = 0.03


def fixations_to_density(points, shape, sigma=None):
    """A fixation density map: one Gaussian per fixation, summed, scaled to max 1.

    This is the usual way gaze studies turn fixations into a continuous map, with a
    Gaussian of about one degree of visual angle standing for the fovea (Le Meur &
    Baccino, Behav. Res. Methods 45, 2013; Wooding, 2002). Normalising to max 1
    (rather than to sum 1, a probability map) is chosen so the map compares with
    explanation maps, which labkit also scales to [0, 1].

    Parameters
    ----------
    points : array-like, shape (K, 2)
        Fixations as (row, col) in pixels, pixel centres at integer coordinates
        (``image[row, col]``); fractional values allowed. Every point must lie inside
        the image (-0.5 <= row < H - 0.5, same for col): drop or clip (np.clip)
        off-image fixations first.
    shape : tuple
        (H, W) or (H, W, C) of the image the fixations belong to.
    sigma : float, optional
        Standard deviation of each Gaussian, in pixels. Default: 0.03 x the longer
        side (1 degree if the image spans about 33 degrees of visual angle, as in the
        MIT1003 set-up); set it from your viewing geometry when you know it.

    Returns
    -------
    numpy.ndarray
        (H, W) float32 in [0, 1], maximum exactly 1.
    """
    if not isinstance(shape, (tuple, list)) or len(shape) < 2:
        raise TypeError(f"shape must be (H, W) or (H, W, C), got {shape!r}; pass image.shape.")
    h, w = check_int(shape[0], "shape[0]"), check_int(shape[1], "shape[1]")
    points = np.asarray(points, dtype=np.float64)
    if points.size == 0:
        raise ValueError("points is empty: a density map needs at least one fixation.")
    if points.ndim != 2 or points.shape[1] != 2:
        raise ValueError(f"points must have shape (K, 2) holding (row, col), got {points.shape}.")
    if not np.all(np.isfinite(points)):
        raise ValueError("points contains NaN or infinite values; drop those fixations first.")
    outside = np.flatnonzero(~inside_image(points, (h, w)))
    if outside.size:
        r, c = points[outside[0]]
        raise ValueError(f"{outside.size} fixation(s) lie outside the {h}x{w} image, e.g. point "
                         f"{outside[0]} at (row {r:g}, col {c:g}); drop them or np.clip them "
                         "into the image first.")
    if sigma is None:
        sigma = DEGREE_FRACTION * max(h, w)
    if isinstance(sigma, bool) or not np.isscalar(sigma) or not sigma > 0:
        raise ValueError(f"sigma must be a positive number of pixels, got {sigma!r}.")
    # A 2-D Gaussian is separable: sum_k g_k(row) g_k(col) is one (H,K) @ (K,W) product.
    rows = np.exp(-0.5 * ((np.arange(h)[:, None] - points[:, 0]) / sigma) ** 2)
    cols = np.exp(-0.5 * ((np.arange(w)[:, None] - points[:, 1]) / sigma) ** 2)
    density = rows @ cols.T
    return (density / density.max()).astype(np.float32)


@dataclass(frozen=True)
class SaliencyItem:
    """One image with its gaze ground truth (all arrays in the image's pixel grid).

    Attributes
    ----------
    image : (H, W, 3) uint8
    density : (H, W) float32 in [0, 1], maximum 1 (scaled on load)
    fixations : (K, 2) float64 (row, col) or None when the dataset has no fixation file
    label : int, index into the dataset's ``class_names``
    class_name : str
    image_path, density_path, fixations_path : Path (fixations_path may be None)
    mask : (H, W) bool or None; the object's region, when the dataset has ``Masks/``
    """

    image: np.ndarray
    density: np.ndarray
    fixations: np.ndarray | None
    label: int
    class_name: str
    image_path: Path
    density_path: Path
    fixations_path: Path | None = None
    mask: np.ndarray | None = None
    mask_path: Path | None = None


@dataclass(frozen=True)
class SaliencyDataset:
    """A sequence of :class:`SaliencyItem`; ``len``, indexing and iteration work.

    ``images``, ``densities``, ``masks`` and ``labels`` stack the items into arrays
    (images must then share one size: load with ``size=``). ``info`` holds extra
    metadata (the benchmark's parameters and splits), empty for plain datasets.
    """

    items: tuple
    class_names: tuple
    root: Path
    info: dict = field(default_factory=dict)

    def __len__(self):
        return len(self.items)

    def __getitem__(self, index):
        return self.items[index]

    def __iter__(self):
        return iter(self.items)

    def _stack(self, attribute):
        values = [getattr(item, attribute) for item in self.items]
        if any(v is None for v in values):
            raise ValueError(f"some items have no {attribute}; this dataset has no such files.")
        if len({v.shape for v in values}) > 1:
            raise ValueError(f"the {attribute} have different sizes; load the dataset with "
                             "size=224 (or another size) to stack them.")
        return np.stack(values)

    @property
    def images(self):
        return self._stack("image")

    @property
    def densities(self):
        return self._stack("density")

    @property
    def masks(self):
        return self._stack("mask")

    @property
    def labels(self):
        return np.array([item.label for item in self.items], dtype=np.int64)


def load_saliency_dataset(root, size=None):
    """Read images with gaze fixation density maps in the MexCulture142 layout.

    MexCulture142 (Montoya Obeso, Benois-Pineau, García Vázquez, Ramírez Acosta, LaBRI
    and IPN; IPTA 2018) holds 284 photos of Mexican buildings in 142 classes, with gaze
    fixations of 23 observers. Accepted layout (folder names are case-insensitive)::

        root/
          Images/          Prehispanic_Yaxchilan_Chiapas_N_2.png
          Density Maps/    Prehispanic_Yaxchilan_Chiapas_GFDM_N_2.png   (required)
          Fixations/       Prehispanic_Yaxchilan_Chiapas_GazeFix_N_2.txt (optional)
          Masks/           Prehispanic_Yaxchilan_Chiapas_Mask_N_2.png    (optional; labkit's
                                                                           benchmark)

    ``Density Maps`` may also be spelled ``DensityMaps``, ``Density_Maps`` or
    ``density-maps``. Files may sit in per-class subfolders of these folders; companion
    files are matched by name. The class of ``<class>_N_<k>.png`` is ``<class>`` (the
    text before the last ``_N_``), or the image's subfolder of ``Images/`` when there is
    one; an image without ``_N_`` expects ``<stem>_GFDM.png`` and ``<stem>_GazeFix.txt``.
    Scanpath files are not read.

    Density maps (any image mode; colour is converted to luminance) are resized to the
    image when their size differs, then divided by their maximum. Fixation files hold
    one fixation per line with x (column) then y (row) in image pixels, as eye trackers
    report them; further columns (duration) and non-numeric lines are ignored, and
    fixations outside the image are dropped.

    Parameters
    ----------
    root : str or path-like
        The folder holding ``Images/``.
    size : int, (int, int) or None
        As in :func:`load_image`; the density map, mask and fixations follow the same
        resize and crop (fixations cropped away are dropped). None keeps each image's
        size.

    Returns
    -------
    SaliencyDataset
        Items sorted by class name, then file name.
    """
    size = check_size(size)
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"no such folder: {root}. Point root at the folder that holds "
                                "Images/ and 'Density Maps/' (see data/README.md).")
    folders = {p.name.lower(): p for p in root.iterdir() if p.is_dir()}
    if "images" not in folders:
        raise FileNotFoundError(f"{root} has no Images/ folder; expected the MexCulture142 layout "
                                "root/Images, root/'Density Maps', root/Fixations.")
    density_dir = next((folders[n] for n in DENSITY_FOLDERS if n in folders), None)
    if density_dir is None:
        raise FileNotFoundError(f"{root} has no 'Density Maps/' folder (the *_GFDM_* maps); "
                                "without density maps it is a plain image folder: use load_folder.")
    images = sorted(p for p in folders["images"].rglob("*")
                    if p.suffix.lower() in IMAGE_EXTENSIONS and not p.name.startswith("."))
    if not images:
        raise FileNotFoundError(f"no images in {folders['images']}; expected files such as "
                                "Prehispanic_Yaxchilan_Chiapas_N_2.png.")
    densities = _index(density_dir)
    fixations = _index(folders["fixations"]) if "fixations" in folders else {}
    masks = _index(folders["masks"]) if "masks" in folders else {}

    records = []
    for path in images:
        class_name, companion = _parse_name(path, folders["images"])
        density_path = densities.get(companion("GFDM", ".png").lower())
        if density_path is None:
            raise FileNotFoundError(f"no density map for {path.name}: expected "
                                    f"{density_dir.name}/{companion('GFDM', '.png')}.")
        records.append((class_name, path, density_path,
                        fixations.get(companion("GazeFix", ".txt").lower()),
                        masks.get(companion("Mask", ".png").lower())))
    class_names = tuple(sorted({r[0] for r in records}))
    records.sort(key=lambda r: (r[0], r[1].name))
    items = tuple(_load_item(class_names, *record, size) for record in records)
    return SaliencyDataset(items, class_names, root)


def _index(folder):
    """Lower-case file name -> path, for every file under ``folder``."""
    return {p.name.lower(): p for p in folder.rglob("*") if p.is_file()}


def _parse_name(path, images_dir):
    """(class name, companion(kind, ext) -> file name) for one image file."""
    stem = path.stem
    prefix, sep, suffix = stem.rpartition("_N_")
    subfolder = path.parent != images_dir
    if sep:
        class_name = path.parent.name if subfolder else prefix
        return class_name, lambda kind, ext: f"{prefix}_{kind}_N_{suffix}{ext}"
    class_name = path.parent.name if subfolder else stem
    return class_name, lambda kind, ext: f"{stem}_{kind}{ext}"


def _load_item(class_names, class_name, image_path, density_path, fixations_path, mask_path,
               size):
    image = load_image(image_path)
    shape = image.shape[:2]
    density = read_density(density_path, shape)
    points = read_fixations(fixations_path, shape) if fixations_path is not None else None
    mask = None
    if mask_path is not None:
        mask = load_image(mask_path)[..., 0] > 127
        if mask.shape != shape:
            raise ValueError(f"mask {mask_path.name} is {mask.shape[1]}x{mask.shape[0]} but its "
                             f"image is {shape[1]}x{shape[0]}; masks must match their images.")
    if size is not None:
        fit = Fit.from_shape(shape, size)
        image = resize_image(image, fit)
        density = resize_map(density, fit)
        density = density / density.max() if density.max() > 0 else density
        mask = resize_mask(mask, fit) if mask is not None else None
        if points is not None:
            moved, inside = fit.points(points)
            points = moved[inside]
    return SaliencyItem(image, density, points, class_names.index(class_name), class_name,
                        image_path, density_path, fixations_path, mask, mask_path)


def read_density(path, shape=None):
    """A density map file as (H, W) float32 in [0, 1], divided by its maximum.

    Resized (bilinear) to ``shape`` = (H, W) when given and different.
    """
    with Image.open(path) as image:
        image.load()
        if image.mode not in ("I", "I;16", "I;16B", "I;16L", "I;16N", "F", "L"):
            image = image.convert("L")
        values = np.asarray(image, dtype=np.float32)
    if shape is not None and values.shape != tuple(shape):
        values = resize_map(values, Fit.from_shape(values.shape, tuple(shape)))
    peak = float(values.max())
    return values / peak if peak > 0 else values


_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


def read_fixations(path, shape=None):
    """A fixation text file as (K, 2) float64 (row, col).

    Each line holding two to four numbers gives one fixation, x (column) then y (row)
    in pixels, then e.g. duration; lines with letters (headers, comments) are skipped,
    and a line of more than four numbers (a matrix) is an error. With ``shape`` = (H, W),
    fixations outside the image are dropped.
    """
    points = []
    for line in Path(path).read_text(encoding="utf-8", errors="replace").splitlines():
        if line.lstrip().startswith("#"):
            continue
        numbers = _NUMBER.findall(line)
        if len(numbers) > 4:
            raise ValueError(f"{Path(path).name} has lines of {len(numbers)} numbers: it looks "
                             "like a matrix, not a list of fixations (x y [duration] per line).")
        if len(numbers) >= 2 and not re.search(r"[A-Za-df-z]", line):
            x, y = float(numbers[0]), float(numbers[1])
            points.append((y, x))
    points = np.array(points, dtype=np.float64).reshape(-1, 2)
    return points[inside_image(points, shape)] if shape is not None else points


def write_fixations(path, points):
    """Write (K, 2) (row, col) fixations as the text ``read_fixations`` reads (x, y)."""
    lines = ["# one fixation per line: x (column) y (row), in image pixels"]
    lines += [f"{col:.2f} {row:.2f}" for row, col in np.asarray(points, dtype=np.float64)]
    Path(path).write_text("\n".join(lines) + "\n", encoding="utf-8")
