"""Pillar weights: one rule and one message, from Python, the command line and AKER_WEIGHTS."""

from __future__ import annotations

import pytest

from aker_core.config import get_settings
from aker_core.config.weights import normalise_weights
from aker_core.exceptions import ConfigError, ScoringError
from aker_tasks.identity import parse_weights

BAD = [
    {"supply": -1, "jobs": 1, "urban": 1, "outdoor": 1},
    {"supply": "0.3", "jobs": 1, "urban": 1, "outdoor": 1},
    {"supply": 1, "jobs": 1},
    {"supply": 1, "jobs": 1, "urban": 1, "outdoor": 1, "housing": 1},
    {"supply": 0, "jobs": 0, "urban": 0, "outdoor": 0},
]


@pytest.mark.parametrize("weights", BAD)
def test_python_and_command_line_get_the_same_message(weights: dict[str, object]) -> None:
    """normalise_weights and --weights refuse the same weights with the same words, each naming itself."""
    with pytest.raises(ScoringError) as python:
        normalise_weights(weights)
    with pytest.raises(ScoringError) as command_line:
        parse_weights(weights)
    assert str(python.value).startswith("invalid weights: ")
    assert str(command_line.value) == str(python.value).replace("invalid weights: ", "invalid --weights: ", 1)


def test_message_names_the_pillar_and_its_value() -> None:
    """A bad weight is reported with its pillar and the value given, on one line."""
    with pytest.raises(ScoringError) as info:
        normalise_weights({"supply": 0.3, "jobs": -2.5, "urban": 0.2, "outdoor": 0.2})
    assert str(info.value) == "invalid weights: jobs: Input should be greater than or equal to 0 (got -2.5)"


def test_setting_error_names_the_variable_and_its_value(monkeypatch: pytest.MonkeyPatch) -> None:
    """AKER_WEIGHTS__JOBS=-1 is a ConfigError naming the variable and the value."""
    monkeypatch.setenv("AKER_WEIGHTS__JOBS", "-1")
    with pytest.raises(ConfigError) as info:
        get_settings()
    assert "AKER_WEIGHTS__JOBS: Input should be greater than or equal to 0 (got '-1')" in str(info.value)


def test_settings_weights_pass_unchanged() -> None:
    """The configured weights (already valid) are only normalised."""
    assert normalise_weights() == parse_weights(None) == get_settings().weights.normalised()
