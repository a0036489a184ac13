"""A results store for :func:`labkit.metrics.evaluate`: resumable, one file per work unit.

A store is a folder of Parquet files that ``pandas.read_parquet(folder)`` reads as one
tidy table. Each (image, method) work unit is written as its own small file the moment
it is computed, under a temporary name first and then renamed (an atomic step on
POSIX and Windows), so a run killed mid-write leaves either the whole unit or nothing:
an interrupted evaluation loses at most the units in progress. Temporary files start
with ``.`` and the store's description file with ``_``, which Parquet readers skip.

Every row carries ``settings``, a hash of everything that shapes its values (model name
and weights, method and its parameters, metrics and theirs, seed, labkit version), and
``data``, a hash of the image and its ground truth. A rerun with the same settings finds
its files and computes only what is missing; other settings write a new row set beside
the old one, never mixed into it (select one with ``table[table.settings == h]``).

With ``evaluate(..., keep_maps=True)`` the store also keeps each work unit's
explanation, in ``_maps/`` beside its rows (``_maps/<rows file name>.npz``, written by
:meth:`~labkit.Explanation.save` before the rows, so rows that exist without their map
are recomputed when maps are asked for). The files hold the map, the image and the
metadata (class, probability, parameters, seed, model weights hash), not the method's
by-products (``extras``: RISE's example masks alone weigh four maps). :func:`load_maps`
reads them back for plots and for re-scoring with other metrics, with no explainer
run. Parquet readers skip the ``_maps`` folder; stores without it open as before.

The curves of the curve metrics (insertion, deletion, ROAD: a few dozen numbers each)
are kept in ``_curves/<rows file name>.npz``, written before the rows too, so that
``evaluate(..., store=..., return_curves=True)`` gives back the curves of resumed units
without recomputing them. Units stored without that file (by a labkit that did not keep
curves) are recomputed when curves are asked for.
"""
import contextlib
import hashlib
import json
from dataclasses import replace
from pathlib import Path

import numpy as np

from .._checks import ParameterError
from .._paths import replaced_atomically

FORMAT = 1
MARKER = "_labkit_store.json"
MAPS = "_maps"
CURVES = "_curves"
STORE_COLUMNS = ["image", "method", "metric", "value", "model", "seconds", "settings", "data"]


def digest(*parts, length=16):
    """A stable hex digest of JSON-able values and arrays (never Python's salted hash())."""
    h = hashlib.sha256()
    for part in parts:
        if isinstance(part, np.ndarray):
            h.update(f"{part.dtype.str}{part.shape}".encode())
            h.update(np.ascontiguousarray(part).tobytes())
        elif part is None:
            h.update(b"\x00none")
        else:
            h.update(json.dumps(part, sort_keys=True, default=_jsonable).encode())
        h.update(b"\x1f")
    return h.hexdigest()[:length]


def _jsonable(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (tuple, set, frozenset)):
        return list(value)
    raise TypeError(f"{type(value).__name__} values cannot be hashed into store settings; "
                    "use numbers, strings, lists or dicts.")


class Store:
    """The store folder ``path``, created if needed; see the module docstring.

    Parameters
    ----------
    path : str or path-like
        A new or empty folder, or one written by a previous :func:`evaluate` call.
    image_type : {"int", "str"}
        Type of the image labels; one store keeps one type, so that
        ``pandas.read_parquet`` reads all its files as one column.
    """

    def __init__(self, path, image_type):
        self.path = Path(path)
        if self.path.exists() and not self.path.is_dir():
            raise ParameterError(f"store {self.path} is a file; the store is a folder of "
                                 "Parquet files: pass a new or existing store folder instead.")
        marker = self.path / MARKER
        if self.path.is_dir() and not marker.is_file() and any(self.path.iterdir()):
            raise ParameterError(f"{self.path} is not empty and is no labkit store; pass a new "
                                 "or empty folder so that nothing of yours is overwritten.")
        if marker.is_file():
            try:
                info = json.loads(marker.read_text(encoding="utf-8"))
                stored_type = info["image_type"]
            except (ValueError, KeyError, TypeError) as err:
                raise ValueError(f"the store description {marker} is unreadable ({err}); the "
                                 "store was left untouched: repair or move that folder.") from None
            if info.get("format") != FORMAT:
                raise ValueError(f"{self.path} was written by another labkit store format "
                                 f"({info.get('format')!r}, expected {FORMAT}); use a new store.")
            if stored_type != image_type:
                raise ValueError(f"store {self.path} labels images with {stored_type} values but "
                                 f"these image_ids are {image_type}; use matching image_ids or a "
                                 "new store.")
        else:
            with self._writing():
                self.path.mkdir(parents=True, exist_ok=True)
                self._replace(marker, json.dumps({"format": FORMAT, "image_type": image_type,
                                                  "settings": {}}, indent=1).encode())
        self.image_type = image_type

    @contextlib.contextmanager
    def _writing(self):
        """Report an operating-system refusal (no permission, a read-only or full disk, a
        file where a folder should be) as one sentence naming the store folder, not the
        temporary file it happened on."""
        try:
            yield
        except OSError as err:
            reason = err.strerror or type(err).__name__
            raise ParameterError(f"store {self.path} cannot be written ({reason}); pass a "
                                 "folder you can write to, e.g. store='results.parquet' in "
                                 "your home folder.") from None

    def describe(self, settings, description):
        """Record what a settings hash stands for, in the store's description file."""
        marker = self.path / MARKER
        info = json.loads(marker.read_text(encoding="utf-8"))
        if info["settings"].get(settings) != description:
            info["settings"][settings] = description
            with self._writing():
                self._replace(marker, json.dumps(info, indent=1, default=_jsonable).encode())

    @classmethod
    def open(cls, path):
        """An existing store, to read (its image label type comes from its description)."""
        marker = Path(path) / MARKER
        if not marker.is_file():
            raise ValueError(f"{path} is no labkit store (it has no {MARKER}); pass the folder "
                             "given to evaluate(..., store=).")
        try:
            image_type = json.loads(marker.read_text(encoding="utf-8"))["image_type"]
        except (ValueError, KeyError, TypeError) as err:
            raise ValueError(f"the store description {marker} is unreadable ({err}); repair or "
                             "move that folder.") from None
        return cls(path, image_type)

    def file(self, settings, image):
        return self.path / f"{settings}-{digest(image)}.parquet"

    def map_file(self, settings, image):
        """Where the explanation of one work unit is kept (``keep_maps=True``)."""
        return self.path / MAPS / self.file(settings, image).with_suffix(".npz").name

    def write_map(self, settings, image, explanation):
        """Keep one work unit's explanation, without its by-products (``extras``)."""
        with self._writing():
            (self.path / MAPS).mkdir(exist_ok=True)
            replace(explanation, extras={}).save(self.map_file(settings, image))

    def curve_file(self, settings, image):
        """Where the curves of one work unit are kept."""
        return self.path / CURVES / self.file(settings, image).with_suffix(".npz").name

    def write_curves(self, settings, image, curves):
        """Keep one work unit's curves, ``{metric name: CurveScore}``, atomically."""
        (self.path / CURVES).mkdir(exist_ok=True)
        arrays = {}
        for name, c in curves.items():
            arrays.update({f"{name}/fractions": c.fractions, f"{name}/scores": c.scores,
                           f"{name}/auc": np.float64(c.auc), f"{name}/metric": np.str_(c.metric),
                           f"{name}/target": np.int64(c.target),
                           f"{name}/higher_is_better": np.bool_(c.higher_is_better)})
        with replaced_atomically(self.curve_file(settings, image)) as temporary:
            with open(temporary, "wb") as f:
                np.savez(f, **arrays)

    def read_curves(self, settings, image):
        """One work unit's curves as ``{metric name: CurveScore}``, or None if not kept."""
        from .fidelity import CurveScore

        path = self.curve_file(settings, image)
        if not path.is_file():
            return None
        with np.load(path, allow_pickle=False) as f:
            names = dict.fromkeys(key.rsplit("/", 1)[0] for key in f.files)
            curves = {}
            for name in names:
                fractions, scores = f[f"{name}/fractions"], f[f"{name}/scores"]
                fractions.setflags(write=False)
                scores.setflags(write=False)
                curves[name] = CurveScore(
                    auc=float(f[f"{name}/auc"]), fractions=fractions, scores=scores,
                    metric=str(f[f"{name}/metric"]), target=int(f[f"{name}/target"]),
                    higher_is_better=bool(f[f"{name}/higher_is_better"]))
        return curves

    def maps(self, settings=None):
        """The kept explanations as ``{(image, method): Explanation}``; see :func:`load_maps`."""
        import pandas as pd

        from ..explainers import load_explanation

        wanted = _settings_filter(settings)
        if not any(self.path.glob("*.parquet")):
            return {}
        units = pd.read_parquet(self.path, columns=["image", "method", "settings"])
        units = units.drop_duplicates().sort_values(["image", "method"], kind="stable")
        maps = {}
        for image, method, hashed in units.itertuples(index=False):
            if not wanted(method, hashed):
                continue
            path = self.map_file(hashed, image)
            if not path.is_file():
                continue
            if (image, method) in maps:
                raise ValueError(f"store {self.path} keeps {method} maps of several settings; "
                                 "choose one with settings= (a hash from the settings column, "
                                 "or table.attrs['settings'] of the evaluate call).")
            maps[image, method] = load_explanation(path)
        return maps

    def read(self, settings, image, method, data):
        """The stored rows of one work unit as a list of dicts, or None if not computed yet."""
        import pyarrow.parquet as pq

        path = self.file(settings, image)
        if not path.exists():
            return None
        try:
            rows = pq.read_table(path).to_pylist()
        except Exception as err:  # a truncated or foreign file
            raise ValueError(f"the store file {path} is unreadable ({type(err).__name__}: {err}); "
                             "nothing was overwritten: delete that file to recompute its image "
                             "and method, or use a new store.") from None
        if any(r["settings"] != settings or r["method"] != method for r in rows):
            raise ValueError(f"the store file {path} does not hold {method} rows of settings "
                             f"{settings}; it was not written by labkit: move it away.")
        if any(r["data"] != data for r in rows):
            raise ValueError(f"store {self.path} holds {method} results for image {image!r} "
                             "computed on other pixels or ground truth; give changed images new "
                             "image_ids, or use a new store.")
        return rows

    def write(self, settings, image, rows):
        """Write one work unit's rows (dicts with :data:`STORE_COLUMNS`) atomically."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        schema = pa.schema([("image", pa.int64() if self.image_type == "int" else pa.string()),
                            ("method", pa.string()), ("metric", pa.string()),
                            ("value", pa.float64()), ("model", pa.string()),
                            ("seconds", pa.float64()), ("settings", pa.string()),
                            ("data", pa.string())])
        table = pa.Table.from_pylist(rows, schema=schema)
        with self._writing(), replaced_atomically(self.file(settings, image)) as temporary:
            pq.write_table(table, temporary)

    def _replace(self, target, content):
        with replaced_atomically(target) as temporary:
            temporary.write_bytes(content)


def load_maps(store, *, settings=None):
    """The explanations an ``evaluate(..., store=store, keep_maps=True)`` run kept.

    Re-score them with other metrics or metric parameters, or plot them, without running
    an explainer again::

        maps = load_maps("results.parquet", settings=table.attrs["settings"])
        score(maps, metrics=("insertion",), model=model,
              metric_params={"insertion": {"steps": 50}})

    Parameters
    ----------
    store : str or path-like
        The store folder.
    settings : str, sequence of str or dict method -> str, optional
        Which settings to read (hashes of the ``settings`` column; a dict such as
        ``table.attrs["settings"]``). Default every settings, which must then hold one
        set of maps per method.

    Returns
    -------
    dict (image, method) -> Explanation
        Sorted by image then method; units kept without a map (computed with
        ``keep_maps=False``) are left out. Each explanation has its map, image and
        metadata, not its by-products (``extras`` is empty).
    """
    return Store.open(store).maps(settings)


def _settings_filter(settings):
    """(method, hash) -> kept? for the ``settings`` argument of :func:`load_maps`."""
    if settings is None:
        return lambda method, hashed: True
    if isinstance(settings, dict):
        return lambda method, hashed: settings.get(method) == hashed
    chosen = {settings} if isinstance(settings, str) else set(settings)
    return lambda method, hashed: hashed in chosen
