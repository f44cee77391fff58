"""Retained sources: content-addressed, verified, atomic copies that an in-place edit cannot change."""

from __future__ import annotations

from pathlib import Path

import pytest

from aker_core.exceptions import DataValidationError
from aker_core.sources.location import content_hash
from aker_core.sources.retain import find_retained, retain, retained_path, verify_retained


def _hash(path: Path) -> str:
    return "xxh3_128:" + content_hash(path)


def test_retain_keeps_the_bytes_under_their_hash(tmp_path: Path) -> None:
    """The copy is named by the hash, keeps the suffix and holds the same bytes."""
    source = tmp_path / "market_supply.csv"
    source.write_bytes(b"msa_id,data_vintage\n1,2024-01-01\n")
    recorded = _hash(source)
    kept = retain(source, recorded, tmp_path / "cache")
    assert kept == retained_path(tmp_path / "cache", recorded, ".csv")
    assert kept.parent.name == recorded.split(":")[1][:2]
    assert kept.read_bytes() == source.read_bytes()
    assert find_retained(tmp_path / "cache", recorded) == kept


def test_an_in_place_edit_of_the_source_leaves_the_copy_alone(tmp_path: Path) -> None:
    """The copy is no hard link: rewriting the source's inode in place does not change it."""
    source = tmp_path / "markets.csv"
    source.write_bytes(b"msa_id,name\n1,One\n")
    recorded = _hash(source)
    kept = retain(source, recorded, tmp_path / "cache")
    with open(source, "r+b") as handle:  # same inode, as open(path, "w") or pandas would
        handle.write(b"msa_id,name\n2,Two\n")
    assert kept.stat().st_ino != source.stat().st_ino
    assert verify_retained(kept, recorded)
    source.unlink()
    assert verify_retained(kept, recorded)


def test_a_source_that_no_longer_matches_the_recorded_hash_is_refused(tmp_path: Path) -> None:
    """Nothing is kept when the bytes differ from what the fetch recorded, and no temporary remains."""
    source = tmp_path / "markets.csv"
    source.write_bytes(b"msa_id,name\n1,One\n")
    recorded = _hash(source)
    source.write_bytes(b"msa_id,name\n1,Changed\n")
    with pytest.raises(DataValidationError, match="no longer holds the bytes"):
        retain(source, recorded, tmp_path / "cache")
    assert [p for p in (tmp_path / "cache").rglob("*") if p.is_file()] == []


def test_a_damaged_copy_is_replaced(tmp_path: Path) -> None:
    """An existing copy whose bytes no longer match its name is rewritten from the source."""
    source = tmp_path / "markets.parquet"
    source.write_bytes(b"PAR1 not really parquet PAR1")
    recorded = _hash(source)
    kept = retain(source, recorded, tmp_path / "cache")
    kept.write_bytes(b"bit rot")
    assert not verify_retained(kept, recorded)
    assert retain(source, recorded, tmp_path / "cache") == kept
    assert verify_retained(kept, recorded)


def test_a_hash_of_another_algorithm_is_refused(tmp_path: Path) -> None:
    """Only xxh3_128 hashes name retained files (anything else could not be verified)."""
    with pytest.raises(DataValidationError, match="expected xxh3_128"):
        retained_path(tmp_path, "sha256:abc", ".csv")
