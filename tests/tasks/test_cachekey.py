"""The cache-key rule: a pure function of named parts, and the parts that differ between two keys."""

from __future__ import annotations

from aker_tasks.cachekey import KeyChange, KeyParts, compute_key, key_changes

PARTS = KeyParts(
    family="ComposeScores",
    params={"as_of": "2024-06-01"},
    code={"aker_core.scoring.composite": "aaaa", "aker_tasks.score": "bbbb"},
    libraries={"pyarrow": "26.0.1", "python": "3.11.7"},
    inputs={"markets": "xxh3_128:01", "jobs": "xxh3_128:02"},
    settings={"features": {}, "weights": {"supply": 0.3, "jobs": 0.7}},
)


def _with(**changes: object) -> KeyParts:
    return KeyParts(**{**PARTS.__dict__, **changes})  # type: ignore[arg-type]


def test_equal_parts_give_equal_keys() -> None:
    """The key depends on the parts' values only (not on mapping order)."""
    reordered = _with(inputs={"jobs": "xxh3_128:02", "markets": "xxh3_128:01"})
    assert compute_key(PARTS).key == compute_key(reordered).key
    assert compute_key(PARTS).parts == PARTS


def test_every_part_changes_the_key() -> None:
    """Each named part -- code, library, input, setting, parameter -- changes the key."""
    variants = [
        _with(code={**PARTS.code, "aker_tasks.score": "cccc"}),
        _with(libraries={**PARTS.libraries, "pyarrow": "27.0.0"}),
        _with(inputs={**PARTS.inputs, "jobs": "xxh3_128:03"}),
        _with(settings={"features": {}, "weights": {"supply": 0.4, "jobs": 0.6}}),
        _with(params={"as_of": "2024-03-31"}),
    ]
    keys = {compute_key(v).key for v in variants}
    assert len(keys) == len(variants) and compute_key(PARTS).key not in keys


def test_key_changes_name_each_differing_part() -> None:
    """A weight, a module and an input that differ are each named with old and new value."""
    new = _with(
        code={**PARTS.code, "aker_tasks.score": "cccc"},
        inputs={**PARTS.inputs, "jobs": "xxh3_128:03"},
        settings={"features": {}, "weights": {"supply": 0.4, "jobs": 0.6}},
    )
    assert key_changes(PARTS, new) == [
        KeyChange("code", "aker_tasks.score", "bbbb", "cccc"),
        KeyChange("input", "jobs", "xxh3_128:02", "xxh3_128:03"),
        KeyChange("setting", "weights.jobs", 0.7, 0.6),
        KeyChange("setting", "weights.supply", 0.3, 0.4),
    ]
    assert key_changes(PARTS, PARTS) == []


def test_sidecar_fields_round_trip() -> None:
    """The parts a sidecar records read back equal, so a later status can compare with them."""
    meta = PARTS.sidecar_fields()
    assert KeyParts.from_sidecar(meta) == PARTS
    assert meta["code_version"] == PARTS.code_version != ""


def test_sidecar_without_module_versions_compares_its_one_code_version() -> None:
    """An older sidecar that kept one code version yields one code_version change, not a crash."""
    old = KeyParts.from_sidecar({**PARTS.sidecar_fields(), "code_versions": None, "code_version": "0123"})
    assert old.code_version == "0123"
    assert key_changes(old, PARTS) == [KeyChange("code_version", "code_version", "0123", PARTS.code_version)]
