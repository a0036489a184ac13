"""Property-based tests (hypothesis): whatever shape, dtype or values they are given, the
metrics and the validators either answer within their documented range or raise labkit's
ParameterError; the only warning they may give is the documented ConstantMapWarning.
Model-free, so each property runs in a second or two."""
import math
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from labkit._checks import ParameterError, check_image, check_seed
from labkit.explainers import get_explainer, list_methods
from labkit.metrics import (
    ConstantMapWarning,
    complexity,
    iou,
    pcc,
    pointing_game,
    sparseness,
    ssim,
)

SETTINGS = settings(max_examples=50, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])

DTYPES = st.sampled_from([np.float16, np.float32, np.float64, np.int8, np.int16, np.int32,
                          np.int64, np.uint8, np.bool_, np.complex64])


@st.composite
def maps(draw, shape=None, min_side=0):
    """Arrays of any dtype, mostly 2-D, sometimes empty, constant, huge or non-finite."""
    dtype = np.dtype(draw(DTYPES))
    if shape is None:
        ndim = draw(st.sampled_from([2, 2, 2, 2, 1, 3]))
        shape = draw(hnp.array_shapes(min_dims=ndim, max_dims=ndim, min_side=min_side,
                                      max_side=24))
    extremes = dict(allow_nan=True, allow_infinity=True) if dtype.kind in "fc" else {}
    elements = hnp.from_dtype(dtype, **extremes)
    if draw(st.booleans()):  # a constant map
        return np.full(shape, draw(elements), dtype)
    return draw(hnp.arrays(dtype, shape, elements=elements))


@st.composite
def images(draw):
    """Arrays shaped like images or nearly (wrong channel count, a batch, too small)."""
    side = st.integers(0, 20)
    shape = draw(st.one_of(st.tuples(side, side, st.sampled_from([3, 3, 3, 1, 4])),
                           st.tuples(side, side), st.tuples(st.just(2), side, side, st.just(3))))
    if draw(st.booleans()):  # pixel-like values, the common case
        dtype = draw(st.sampled_from([np.uint8, np.float32, np.float64]))
        top = draw(st.sampled_from([1.0, 2.0, 255.0, 300.0]))
        values = st.floats(0, top, width=32) if dtype != np.uint8 else st.integers(0, 255)
        return draw(hnp.arrays(dtype, shape, elements=values))
    return draw(maps(shape))


def only_labkit_outcomes(call):
    """``call()``'s value, or None if it raised ParameterError; any other exception or
    any warning but ConstantMapWarning (numpy's overflow, say) fails the test."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.simplefilter("ignore", ConstantMapWarning)
        try:
            return call()
        except ParameterError:
            return None


def in_range(value, lo, hi):
    return value is None or math.isnan(value) or lo <= value <= hi


@SETTINGS
@given(maps(), maps())
def test_pcc_answers_in_minus_one_one_or_refuses(saliency, truth):
    value = only_labkit_outcomes(lambda: pcc(saliency, truth))
    assert in_range(value, -1, 1)


@SETTINGS
@given(st.data())
def test_pcc_and_ssim_of_same_shaped_maps(data):
    shape = data.draw(hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=30))
    a, b = data.draw(maps(shape)), data.draw(maps(shape))
    assert in_range(only_labkit_outcomes(lambda: pcc(a, b)), -1, 1)
    assert in_range(only_labkit_outcomes(lambda: ssim(a, b, gaussian_weights=False)), -1, 1)
    assert in_range(only_labkit_outcomes(lambda: pcc(a, b, resize=True)), -1, 1)


@SETTINGS
@given(st.data())
def test_a_constant_map_gives_nan_with_the_documented_warning(data):
    shape = data.draw(hnp.array_shapes(min_dims=2, max_dims=2, min_side=11, max_side=20))
    value = data.draw(st.floats(-1e300, 1e300))
    constant = np.full(shape, value)
    other = data.draw(hnp.arrays(np.float64, shape, elements=st.floats(-1e6, 1e6)))
    mask = np.zeros(shape, bool)
    mask[0, 0] = True
    for call in (lambda: pcc(constant, other), lambda: ssim(other, constant),
                 lambda: iou(constant, mask), lambda: pointing_game(constant, mask)):
        with pytest.warns(ConstantMapWarning):
            assert math.isnan(call())


@SETTINGS
@given(st.data())
def test_iou_and_pointing_game_answer_in_zero_one_or_refuse(data):
    shape = data.draw(hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=24))
    saliency = data.draw(maps(shape))
    mask_shape = shape if data.draw(st.booleans()) else (shape[0] + 1, shape[1])
    mask = data.draw(st.one_of(
        hnp.arrays(np.bool_, mask_shape),
        hnp.arrays(np.int64, mask_shape, elements=st.integers(-1, 2)),
        hnp.arrays(np.float64, mask_shape, elements=st.floats(allow_nan=True))))
    threshold = data.draw(st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True),
                                    st.integers(-2, 2)))
    tolerance = data.draw(st.one_of(st.integers(-3, 40), st.floats(0, 5), st.text(max_size=2)))
    assert in_range(only_labkit_outcomes(lambda: iou(saliency, mask, threshold=threshold)),
                    0, 1)
    point = only_labkit_outcomes(lambda: pointing_game(saliency, mask, tolerance=tolerance))
    assert point is None or math.isnan(point) or point in (0.0, 1.0)


@SETTINGS
@given(maps())
def test_sparseness_and_complexity_answer_in_their_ranges_or_refuse(saliency):
    n = max(saliency.size, 1)
    gini = only_labkit_outcomes(lambda: sparseness(saliency))
    assert in_range(gini, 0, 1 - 1 / n + 1e-9)
    entropy = only_labkit_outcomes(lambda: complexity(saliency))
    assert in_range(entropy, 0, math.log(n) + 1e-9)


@SETTINGS
@given(st.data())
def test_ssim_parameters_are_checked(data):
    a = data.draw(hnp.arrays(np.float64, (12, 12), elements=st.floats(0, 1)))
    sigma = data.draw(st.one_of(st.floats(allow_nan=True, allow_infinity=True),
                                st.integers(-5, 5), st.booleans(), st.text(max_size=2)))
    data_range = data.draw(st.one_of(st.floats(allow_nan=True, allow_infinity=True),
                                     st.none()))
    value = only_labkit_outcomes(lambda: ssim(a, a.T, sigma=sigma, data_range=data_range))
    assert value is None or math.isnan(value) or -1 <= value <= 1


# -- validators ------------------------------------------------------------------------
ANY_VALUE = st.one_of(
    st.none(), st.booleans(), st.integers(-10**12, 10**12),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=5),
    st.tuples(st.integers(-300, 300), st.integers(-300, 300), st.integers(-300, 300)),
    st.lists(st.floats(-500, 500), max_size=4),
    st.integers(-10**6, 10**6).map(np.int64), st.floats(-1e6, 1e6).map(np.float32),
)
PARAMS = [(m, p) for m in list_methods() for p in get_explainer(m).params if p.kind != "array"]


@SETTINGS
@pytest.mark.parametrize("method, param", PARAMS, ids=[f"{m}-{p.name}" for m, p in PARAMS])
@given(value=ANY_VALUE, allow_slow=st.booleans())
def test_param_check_returns_a_valid_value_or_refuses(method, param, value, allow_slow):
    try:
        checked = param.check(value, method, allow_slow=allow_slow)
    except ParameterError as error:
        assert param.name in str(error) and "\n" not in str(error)
        return
    if checked is None:
        assert value is None
    elif param.kind in ("int", "float"):
        assert isinstance(checked, int if param.kind == "int" else float)
        assert math.isfinite(checked)
        assert param.low is None or checked >= param.low
        top = param.high if allow_slow or param.limit is None else param.limit
        assert top is None or checked <= top
    elif param.kind == "choice":
        assert checked in param.choices
    elif param.kind == "color":
        values = np.ravel(np.asarray(checked, dtype=np.float64))
        assert values.size in (1, 3) and ((0 <= values) & (values <= 255)).all()


@SETTINGS
@given(images())
def test_check_image_returns_pixels_or_refuses(array):
    pixels = only_labkit_outcomes(lambda: check_image(array))
    if pixels is None:
        return
    assert pixels.dtype == np.float32 and pixels.ndim == 3 and pixels.shape[-1] == 3
    assert min(pixels.shape[:2]) >= 8 and 0 <= pixels.min() and pixels.max() <= 255
    assert not np.shares_memory(pixels, array)


@SETTINGS
@given(hnp.arrays(np.float64, st.tuples(st.integers(8, 16), st.integers(8, 16), st.just(3)),
                  elements=st.floats(0, 1)))
def test_a_0_1_scaled_float_image_is_never_taken_for_pixels(array):
    if array.max() > 0:
        with pytest.raises(ParameterError, match=r"\[0, 1\]"):
            check_image(array)


@SETTINGS
@given(st.one_of(ANY_VALUE, st.integers(-2**40, 2**40)))
def test_check_seed_returns_a_numpy_seed_or_refuses(seed):
    try:
        checked = check_seed(seed)
    except ParameterError as error:
        assert "seed" in str(error)
        return
    if checked is not None:
        assert isinstance(checked, int) and 0 <= checked < 2**32
        np.random.default_rng(checked)
        np.random.RandomState(checked)
