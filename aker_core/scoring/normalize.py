"""Robust min-max scaling to 0-100 with percentile (winsorised) bounds."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pyarrow as pa

from aker_core.exceptions import ScoringError

__all__ = ["robust_minmax"]


def robust_minmax(
    values: np.ndarray | Sequence[float] | pa.Array | pa.ChunkedArray,
    p_low: float = 0.05,
    p_high: float = 0.95,
) -> np.ndarray:
    """Scale values to 0-100 between their ``p_low`` and ``p_high`` percentiles.

    Values at or below the ``p_low`` percentile map to 0, at or above the ``p_high`` percentile to
    100, linearly in between, so a few outliers cannot squash everyone else into a narrow band.
    Percentiles use linear interpolation over the finite values only.

    Args:
        values: numbers; NaN (and nulls of an Arrow array) are missing and stay NaN.
        p_low: lower percentile as a fraction, ``0 <= p_low < p_high``.
        p_high: upper percentile as a fraction, ``p_high <= 1``.

    Returns:
        float64 array of the same length. When the bounds coincide (e.g. constant input), values
        equal to them get 50, values below 0 and above 100.

    Raises:
        ScoringError: invalid percentiles, or no finite value to take percentiles of.
    """
    if not (
        isinstance(p_low, int | float)
        and isinstance(p_high, int | float)
        and math.isfinite(p_low)
        and math.isfinite(p_high)
        and 0.0 <= p_low < p_high <= 1.0
    ):
        raise ScoringError(f"percentiles must satisfy 0 <= p_low < p_high <= 1, got p_low={p_low!r}, p_high={p_high!r}")
    if isinstance(values, pa.ChunkedArray | pa.Array):
        values = values.to_numpy(zero_copy_only=False)
    array = np.asarray(values, dtype=np.float64)
    finite = array[np.isfinite(array)]
    if finite.size == 0:
        raise ScoringError("robust_minmax needs at least one finite value")
    low, high = np.quantile(finite, [p_low, p_high])
    if high == low:
        scaled = np.where(array > high, 100.0, np.where(array < low, 0.0, 50.0))
    else:
        scaled = np.clip((array - low) / (high - low), 0.0, 1.0) * 100.0
    return np.where(np.isnan(array), np.nan, scaled)
