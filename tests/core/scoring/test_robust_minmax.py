"""robust_minmax: examples and Hypothesis properties."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aker_core.exceptions import ScoringError
from aker_core.scoring import robust_minmax

values_strategy = st.lists(
    st.one_of(st.floats(-1e6, 1e6, allow_nan=False), st.just(math.nan)), min_size=1, max_size=60
).filter(lambda v: any(not math.isnan(x) for x in v))


def test_linear_between_bounds():
    """With p_low=0 and p_high=1 it is plain min-max scaling."""
    assert robust_minmax([0.0, 5.0, 10.0], 0.0, 1.0).tolist() == [0.0, 50.0, 100.0]


def test_outlier_is_winsorised():
    """An extreme value is capped at 100 instead of squashing the rest."""
    out = robust_minmax([*range(100), 1e9])
    assert out[-1] == 100.0
    assert out[50] == pytest.approx(50.0, abs=3)


def test_constant_input_is_50():
    """Constant input maps to 50."""
    assert robust_minmax([3.0, 3.0, 3.0]).tolist() == [50.0, 50.0, 50.0]


def test_all_nan_raises():
    """No finite value is a ScoringError."""
    with pytest.raises(ScoringError, match="finite"):
        robust_minmax([math.nan, math.nan])


@pytest.mark.parametrize(("low", "high"), [(-0.1, 0.9), (0.5, 0.5), (0.9, 0.1), (0.0, 1.5), (math.nan, 0.9)])
def test_invalid_percentiles_raise(low, high):
    """Percentiles outside 0 <= low < high <= 1 are a ScoringError."""
    with pytest.raises(ScoringError, match="percentiles"):
        robust_minmax([1.0, 2.0], low, high)


@given(values_strategy)
def test_bounds(values):
    """Every non-NaN output lies in [0, 100]."""
    out = robust_minmax(values)
    finite = out[~np.isnan(out)]
    assert ((finite >= 0) & (finite <= 100)).all()


@given(values_strategy)
def test_nan_positions_preserved(values):
    """NaN inputs, and only those, give NaN outputs."""
    out = robust_minmax(values)
    assert (np.isnan(out) == np.isnan(np.asarray(values))).all()


@given(values_strategy)
def test_monotone(values):
    """A larger input never gets a smaller output."""
    arr = np.asarray(values)
    out = robust_minmax(arr)
    keep = ~np.isnan(arr)
    order = np.argsort(arr[keep], kind="stable")
    assert (np.diff(out[keep][order]) >= -1e-9).all()


@settings(max_examples=200)
@given(values_strategy, st.floats(0.01, 100), st.floats(-1e4, 1e4))
def test_invariant_to_positive_affine_maps(values, scale, shift):
    """Scaling by a positive factor and shifting leaves the output unchanged (up to rounding)."""
    arr = np.asarray(values)
    base = robust_minmax(arr)
    moved = robust_minmax(arr * scale + shift)
    finite = ~np.isnan(base)
    spread = np.ptp(arr[~np.isnan(arr)])
    if spread * scale < 1e-3:
        return  # rounding of the shift swamps a near-constant input; nothing meaningful to compare
    np.testing.assert_allclose(moved[finite], base[finite], atol=1e-4)
