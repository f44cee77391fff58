"""Pillar weights: the one rule for a valid set of weights, wherever the weights come from.

``AKER_WEIGHTS`` (settings), ``--weights`` (the task parameter) and the Python API
(:func:`aker_core.scoring.compose`, :mod:`aker_core.markets`) all go through :class:`Weights`;
explicit weights also through :func:`normalise_weights`, which adds what only an explicit override
needs (all four pillars, numbers rather than numeric strings) and phrases every problem in one
line naming where the weights came from and the bad value.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TypeAlias

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

__all__ = ["PILLARS", "Weights", "WeightsLike", "normalise_weights"]

#: The four pillars, in the order every table and export uses.
PILLARS: tuple[str, ...] = ("supply", "jobs", "urban", "outdoor")


class Weights(BaseModel):
    """Composite weights of the four pillars.

    Weights need not sum to one (they are normalised when a composite is computed) but each must
    be finite and non-negative and at least one must be positive; unknown keys are rejected.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    supply: float = Field(default=0.3, ge=0, allow_inf_nan=False)
    jobs: float = Field(default=0.3, ge=0, allow_inf_nan=False)
    urban: float = Field(default=0.2, ge=0, allow_inf_nan=False)
    outdoor: float = Field(default=0.2, ge=0, allow_inf_nan=False)

    @model_validator(mode="after")
    def _not_all_zero(self) -> Weights:
        if not any(getattr(self, p) > 0 for p in PILLARS):
            raise ValueError("at least one pillar weight must be positive (all are 0)")
        return self

    def normalised(self) -> dict[str, float]:
        """Return the weights scaled to sum to 1, keyed by pillar in canonical order."""
        total = math.fsum(getattr(self, p) for p in PILLARS)
        return {p: getattr(self, p) / total for p in PILLARS}


#: An explicit weights override.
WeightsLike: TypeAlias = Weights | Mapping[str, float]


def normalise_weights(weights: WeightsLike | None = None, *, name: str = "weights") -> dict[str, float]:
    """Validate weights and scale them to sum to 1.

    Args:
        weights: ``None`` (use ``get_settings().weights``), a :class:`Weights`, or a mapping with
            exactly the keys ``supply``, ``jobs``, ``urban``, ``outdoor`` and numbers as values.
        name: what the weights are called in an error message (``"--weights"`` for the task
            parameter).

    Returns:
        ``{pillar: weight}`` in canonical pillar order, summing to 1.

    Raises:
        ScoringError: ``invalid <name>: ...`` naming the unknown or missing keys, or each bad
            pillar and its value (negative, non-finite, not a number), or all zero.
    """
    from aker_core.exceptions import ScoringError

    if weights is None:
        from aker_core.config.settings import get_settings

        weights = get_settings().weights
    if isinstance(weights, Weights):
        return weights.normalised()
    if not isinstance(weights, Mapping):
        raise ScoringError(f"invalid {name}: expected a mapping of the four pillars, got {type(weights).__name__}")
    given = dict(weights)
    keys = []
    unknown = sorted(str(k) for k in given.keys() - set(PILLARS))
    if unknown:
        keys.append(f"unknown weight key(s) {', '.join(unknown)}")
    missing = [p for p in PILLARS if p not in given]
    if missing:
        keys.append(f"missing weight key(s) {', '.join(missing)}")
    if keys:
        raise ScoringError(f"invalid {name}: {'; '.join(keys)}; expected exactly {', '.join(PILLARS)}")
    try:
        # strict: an explicit weight is a number; "0.3" or true is a mistake (AKER_* strings are
        # converted by the lax settings model instead).
        return Weights.model_validate(given, strict=True).normalised()
    except ValidationError as e:
        from aker_core.config.errors import describe_problems

        problems = describe_problems(e, lambda loc: ".".join(map(str, loc)))
        raise ScoringError(f"invalid {name}: {'; '.join(problems)}") from e
