"""One record per explainer: what it accepts, what it returns, how to show its controls.

``explain``, the grader's schema, the explorers' controls, ``evaluate``'s parameter checks
and the command lines' choices are all read from these records, so a new method is one
file (its function and its :class:`Explainer` record) plus one line in ``__init__``, or a
call to :func:`register` from anywhere.

The parameters' defaults are read from the function's signature, so they are written once.
"""
import inspect
import numbers
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .._checks import ParameterError

#: Arguments every explainer function takes from :func:`labkit.explain` itself.
COMMON = ("model", "pixels", "target", "seed", "progress")
#: Parameter kinds and what they accept.
KINDS = {
    "int": "an integer",
    "float": "a number",
    "choice": "one of the listed choices",
    "color": "None, a grey level or an (r, g, b) triple in [0, 255]",
    "layer": "a layer name (str) or None",
    "array": "an array (cannot travel in JSON)",
    "bool": "True or False",
}


@dataclass(frozen=True)
class Param:
    """One parameter of an explainer: its type, its bounds and how the explorer shows it.

    Attributes
    ----------
    name : str
        The keyword the explainer function takes.
    kind : {"int", "float", "choice", "color", "layer", "array", "bool"}
    low, high : float, optional
        Hard bounds (inclusive, unless ``open_low``/``open_high``): outside them the
        value means nothing.
    limit : float, optional
        What a course laptop runs in about a minute (sample and mask counts). Larger
        values are refused unless ``explain(..., allow_slow=True)``; the grader never
        allows them.
    choices : tuple
        For ``kind="choice"``.
    none_ok : bool
        None is accepted (and means what the docstring says).
    widget : tuple, optional
        How the explorer shows it: ``("count",)`` a number box, ``("slider", lo, hi, step)``,
        ``("dropdown",)`` for choices, colours and layers. None: not shown (the default
        is used).
    label : str
        The control's label; default the name.
    """

    name: str
    kind: str
    low: float | None = None
    high: float | None = None
    limit: float | None = None
    open_low: bool = False
    open_high: bool = False
    choices: tuple = ()
    none_ok: bool = False
    widget: tuple | None = None
    label: str = ""

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"Param {self.name!r}: kind must be one of {sorted(KINDS)}, "
                             f"got {self.kind!r}.")

    @property
    def gradable(self):
        """Can a JSON submission set it?"""
        return self.kind != "array"

    def describe(self):
        """What the parameter accepts, in words."""
        if self.kind == "choice":
            return f"one of {list(self.choices)}"
        if self.kind == "color" and not self.none_ok:
            return KINDS["color"].removeprefix("None, ")
        if self.kind in ("int", "float"):
            lo = "" if self.low is None else f"{'>' if self.open_low else '>='} {self.low:g}"
            hi = self.high if self.limit is None else self.limit
            hi = "" if hi is None else f"{'<' if self.open_high else '<='} {hi:g}"
            bounds = " and ".join(b for b in (lo, hi) if b)
            what = KINDS[self.kind] + (f" {bounds}" if bounds else "")
            return what + (" or None" if self.none_ok else "")
        return KINDS[self.kind]

    def check(self, value, method, *, allow_slow=False):
        """``value`` if it is valid for this parameter, else a :class:`ParameterError`
        naming ``method``, the parameter, the value given and what is allowed."""
        def fail(reason=None):
            raise ParameterError(reason or f"{method}: {self.name} must be {self.describe()}, "
                                           f"got {_short(value)}.")

        if value is None:
            if self.none_ok or self.kind in ("layer", "array"):
                return None
            fail()
        if self.kind == "bool":
            if not isinstance(value, (bool, np.bool_)):
                fail()
            return bool(value)
        if self.kind == "choice":
            if not isinstance(value, str) or value not in self.choices:
                fail()
            return value
        if self.kind == "layer":
            if not isinstance(value, str) or not value:
                fail()
            return value
        if self.kind == "color":
            return _check_color(value, fail)
        if self.kind == "array":
            return value
        integral = isinstance(value, numbers.Integral)
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real) or (
                self.kind == "int" and not integral):
            fail()
        if not np.isfinite(float(value)):
            fail(f"{method}: {self.name} must be finite, got {value}.")
        below = self.low is not None and (value <= self.low if self.open_low else value < self.low)
        above = self.high is not None and (value >= self.high if self.open_high
                                           else value > self.high)
        if below or above:
            fail()
        if self.limit is not None and value > self.limit and not allow_slow:
            fail(f"{method}: {self.name}={value} is above {self.limit:g}, what a laptop runs in "
                 "about a minute; pass allow_slow=True to explain() to run it anyway.")
        return int(value) if self.kind == "int" else float(value)


@dataclass(frozen=True)
class Explainer:
    """The record of one explanation method.

    Attributes
    ----------
    name : str
        The registered name ``explain`` takes.
    function : callable
        ``function(model, pixels, target, *, seed, progress, **params) -> (saliency,
        extras, used_params)``; ``pixels`` is a float32 (H, W, 3) copy in [0, 255],
        ``target`` a class index.
    params : tuple of Param
        Every keyword of ``function`` beyond :data:`COMMON`, in the order to show them.
    stochastic : bool
        Uses ``seed`` (the explorer shows a seed box only then).
    signed : bool
        The map's sign means something (LIME's weights): plots centre a diverging colour
        map at zero.
    needs_gradients : bool
        Differentiates the model (runs on TensorFlow; forward-only methods run on the
        classifier's fast backend).
    superpixels : bool
        The map is constant on superpixels (``extras["segments"]``, ``extras["weights"]``):
        the grader scores the ``num_features`` strongest superpixels, the explorer offers
        LIME's superpixel display.
    summary : str
        One line: what the method does and its reference.
    defaults : dict
        Read from ``function``'s signature.
    """

    name: str
    function: Callable
    params: tuple = ()
    stochastic: bool = False
    signed: bool = False
    needs_gradients: bool = False
    superpixels: bool = False
    summary: str = ""
    defaults: dict = field(init=False, repr=False)

    def __post_init__(self):
        signature = inspect.signature(self.function)
        missing = [c for c in COMMON if c not in signature.parameters]
        if missing:
            raise TypeError(f"explainer {self.name!r}: its function must take "
                            f"{', '.join(COMMON)}; missing {missing}.")
        keywords = {n: p.default for n, p in signature.parameters.items() if n not in COMMON}
        declared = [p.name for p in self.params]
        if sorted(declared) != sorted(keywords):
            raise TypeError(f"explainer {self.name!r}: params {declared} must list exactly the "
                            f"function's keywords {list(keywords)}.")
        if any(d is inspect.Parameter.empty for d in keywords.values()):
            raise TypeError(f"explainer {self.name!r}: every parameter needs a default.")
        object.__setattr__(self, "params", tuple(self.params))
        object.__setattr__(self, "defaults", keywords)

    def param(self, name):
        """The :class:`Param` called ``name``."""
        for p in self.params:
            if p.name == name:
                return p
        raise ParameterError(f"{self.name} has no parameter {name!r}; its parameters are "
                             f"{[p.name for p in self.params]}.")

    def check_params(self, params, *, allow_slow=False):
        """Validate ``params`` (a dict of some of the method's parameters), before any work.

        Returns the checked values (ints as int, floats as float); raises a
        :class:`ParameterError` naming the first bad parameter.
        """
        if not isinstance(params, dict):
            raise ParameterError(f"{self.name}: parameters must be a dict, got "
                                 f"{type(params).__name__}.")
        return {name: self.param(name).check(value, self.name, allow_slow=allow_slow)
                for name, value in params.items()}


_REGISTRY = {}


def register(record, *, replace=False):
    """Make an :class:`Explainer` available to ``explain``, ``evaluate``, the grader and
    the explorers. Returns the record (so it can be used as a statement or expression).

    A name already registered is refused unless ``replace=True``.
    """
    if not isinstance(record, Explainer):
        raise TypeError(f"register takes an Explainer record, got {type(record).__name__}.")
    if record.name in _REGISTRY and not replace:
        raise ValueError(f"an explainer named {record.name!r} is already registered; pass "
                         "replace=True to replace it.")
    _REGISTRY[record.name] = record
    return record


def unregister(name):
    """Remove a registered explainer (for tests and experiments)."""
    get_explainer(name)
    del _REGISTRY[name]


def get_explainer(name):
    """The :class:`Explainer` record registered as ``name``."""
    if not isinstance(name, str) or name not in _REGISTRY:
        raise ParameterError(f"unknown method {_short(name)}; choose one of {list_methods()}.")
    return _REGISTRY[name]


def list_methods():
    """Names accepted by ``explain``, sorted."""
    return sorted(_REGISTRY)


def _check_color(value, fail):
    if isinstance(value, (list, tuple, np.ndarray)):
        values = list(np.ravel(value)) if isinstance(value, np.ndarray) else list(value)
        if len(values) != 3:
            fail()
    else:
        values = [value]
    for v in values:
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Real) or not (
                0 <= v <= 255):
            fail()
    return value


def _short(value):
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


__all__ = ["COMMON", "Explainer", "Param", "get_explainer", "list_methods", "register",
           "unregister"]
