"""Read a PyTorch ``state_dict`` file (``.pth``) into numpy arrays, without torch.

``torch.save`` writes a pickle whose tensors point at raw storages through
"persistent ids". Two layouts exist:

* zip (torch >= 1.6): ``<name>/data.pkl`` plus one ``<name>/data/<key>`` entry per storage;
* legacy (torch < 1.6): on one stream, the pickles magic number, protocol version,
  system info, the object itself, then the list of storage keys, and finally, for each
  key in that order, an int64 element count followed by the raw bytes.

Every pickle in the file, the legacy format's headers included, goes through the
unpickler below, which resolves only the handful of globals a state dict needs (tensor
rebuilders, storage types, ``OrderedDict``): a file that names any other callable (the
way a pickle runs code) is refused before anything is called, with a ValueError.
"""
import collections
import pickle
import zipfile

import numpy as np

_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C

_STORAGE_DTYPES = {
    "DoubleStorage": np.float64, "FloatStorage": np.float32, "HalfStorage": np.float16,
    "LongStorage": np.int64, "IntStorage": np.int32, "ShortStorage": np.int16,
    "CharStorage": np.int8, "ByteStorage": np.uint8, "BoolStorage": np.bool_,
}


class _Storage:
    """A storage whose bytes are read after the pickle (legacy) or on demand (zip)."""

    def __init__(self, dtype, key, numel):
        self.dtype, self.key, self.numel = np.dtype(dtype), key, numel
        self.data = None


class _Tensor:
    """A view (offset, shape, strides in elements) into a storage, materialised later."""

    def __init__(self, storage, offset, shape, stride):
        self.storage, self.offset = storage, offset
        self.shape, self.stride = tuple(shape), tuple(stride)

    def to_numpy(self):
        flat = self.storage.data
        item = flat.itemsize
        # as_strided trusts its arguments: a crafted view would read past the storage.
        last = self.offset + sum((n - 1) * s for n, s in zip(self.shape, self.stride))
        if (self.offset < 0 or min(self.shape + self.stride, default=0) < 0
                or (0 not in self.shape and last >= len(flat))):
            raise ValueError(f"a tensor of shape {self.shape} reaches outside its storage of "
                             f"{len(flat)} elements: the file is corrupt.")
        view = np.lib.stride_tricks.as_strided(
            flat[self.offset:], shape=self.shape, strides=[s * item for s in self.stride])
        return np.array(view)  # a copy: the storage buffer may be shared between tensors


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False,
                       backward_hooks=None, metadata=None):
    numbers = [storage_offset, *size, *stride]
    if not isinstance(storage, _Storage) or not all(isinstance(n, int) for n in numbers):
        raise pickle.UnpicklingError("malformed tensor record.")
    return _Tensor(storage, storage_offset, size, stride)


def _rebuild_parameter(data, requires_grad=False, backward_hooks=None):
    return data


class _StorageType:
    def __init__(self, name):
        self.dtype = _STORAGE_DTYPES[name]


_ALLOWED = {
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
}


class _Unpickler(pickle.Unpickler):
    def __init__(self, file, storages):
        super().__init__(file, encoding="latin1")  # legacy files were written by Python 2 too
        self.storages = storages

    def find_class(self, module, name):
        if (module, name) in _ALLOWED:
            return _ALLOWED[module, name]
        if module == "torch" and name in _STORAGE_DTYPES:
            return _StorageType(name)
        raise pickle.UnpicklingError(
            f"it names {module}.{name}, which labkit never calls; only plain state dicts "
            "of tensors can be read without torch.")

    def load(self):
        try:
            return super().load()
        except (pickle.UnpicklingError, EOFError):
            raise
        except Exception as err:  # a malformed stream: one kind of error for the caller
            raise pickle.UnpicklingError(f"malformed pickle ({type(err).__name__}: {err})") \
                from None

    def persistent_load(self, saved_id):
        # ("storage", storage_type, key, location, numel[, view_metadata])
        if not isinstance(saved_id, tuple) or len(saved_id) < 5:
            raise pickle.UnpicklingError(f"unsupported persistent id {saved_id!r:.60}.")
        kind, storage_type, key, _location, numel = saved_id[:5]
        if kind != "storage":
            raise pickle.UnpicklingError(f"unsupported persistent id {kind!r}.")
        if not isinstance(storage_type, _StorageType) or not isinstance(numel, int) or numel < 0:
            raise pickle.UnpicklingError("malformed storage record.")
        if len(saved_id) > 5 and saved_id[5] is not None:
            raise pickle.UnpicklingError("storage views (torch < 0.4 files) are not supported.")
        if key not in self.storages:
            self.storages[key] = _Storage(storage_type.dtype, key, numel)
        return self.storages[key]


def _materialise(obj):
    if isinstance(obj, _Tensor):
        return obj.to_numpy()
    if isinstance(obj, dict):
        return {k: _materialise(v) for k, v in obj.items()}
    return obj


def _load_zip(path):
    storages = {}
    with zipfile.ZipFile(path) as archive:
        pkl = next((n for n in archive.namelist() if n.endswith("data.pkl")), None)
        if pkl is None:
            raise ValueError(f"{path} is a zip archive without data.pkl, not a PyTorch file.")
        prefix = pkl[:-len("data.pkl")]
        if prefix + "byteorder" in archive.namelist() and \
                archive.read(prefix + "byteorder").strip() != b"little":
            raise ValueError(f"{path} was saved on a big-endian machine; it is not supported.")
        with archive.open(pkl) as f:
            result = _Unpickler(f, storages).load()
        for key, storage in storages.items():
            name = f"{prefix}data/{key}"
            raw = archive.read(name) if name in archive.namelist() else b""
            if len(raw) < storage.numel * storage.dtype.itemsize:
                raise ValueError(f"{path} is truncated or corrupt: storage {key} is incomplete.")
            storage.data = np.frombuffer(raw, dtype=storage.dtype.newbyteorder("<"),
                                         count=storage.numel)
    return result


def _load_legacy(path):
    storages = {}
    with open(path, "rb") as f:
        # Headers too go through the restricted unpickler: a plain pickle.load would run
        # whatever a crafted header names before the magic number is even compared.
        if _Unpickler(f, storages).load() != _LEGACY_MAGIC:
            raise ValueError(f"{path} is not a PyTorch file (wrong magic number).")
        _Unpickler(f, storages).load()  # protocol version
        sys_info = _Unpickler(f, storages).load()
        if not isinstance(sys_info, dict):
            raise ValueError(f"{path} is not a PyTorch file (no system information).")
        if not sys_info.get("little_endian", True):
            raise ValueError(f"{path} was saved on a big-endian machine; it is not supported.")
        result = _Unpickler(f, storages).load()
        keys = _Unpickler(f, storages).load()
        if not isinstance(keys, list) or set(keys) != set(storages):
            raise ValueError(f"{path} is corrupt: its storage list does not match its tensors.")
        for key in keys:
            storage = storages[key]
            nbytes = storage.numel * storage.dtype.itemsize
            header, raw = f.read(8), f.read(nbytes)
            if len(raw) != nbytes or int.from_bytes(header, "little") != storage.numel:
                raise ValueError(f"{path} is truncated or corrupt: storage {key} is incomplete.")
            storage.data = np.frombuffer(raw, dtype=storage.dtype.newbyteorder("<"))
    return result


def load_state_dict(path):
    """Tensors of a PyTorch ``state_dict`` file as numpy arrays, without importing torch.

    Parameters
    ----------
    path : str or path-like
        A file written by ``torch.save(model.state_dict(), path)``, zip or legacy format.

    Returns
    -------
    dict
        Parameter name (``"_conv_stem.weight"``) to ndarray, in PyTorch layout
        (convolution kernels are ``(out, in, kh, kw)``).

    Raises
    ------
    ValueError
        The file is not a plain state dict: it names a callable other than the tensor
        rebuilders (nothing it names is ever called), or it is truncated or corrupt.
    """
    try:
        state = _load_zip(path) if zipfile.is_zipfile(path) else _load_legacy(path)
    except EOFError:
        raise ValueError(f"{path} is truncated or corrupt: it ends inside a pickle.") from None
    except pickle.UnpicklingError as err:
        raise ValueError(f"{path} cannot be read as a PyTorch state dict: {err}") from None
    if not isinstance(state, dict):
        raise ValueError(f"{path} holds a {type(state).__name__}, not a state dict.")
    return _materialise(state)
