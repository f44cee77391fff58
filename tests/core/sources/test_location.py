"""resolve_source_dir, dataset_path and content_hash."""

from __future__ import annotations

import pytest
import xxhash

from aker_core.exceptions import DataValidationError
from aker_core.sources import SAMPLE_DIR, content_hash, dataset_path, resolve_source_dir


def test_sample_resolves_to_bundled_dir():
    """'sample' is the bundled sample directory."""
    assert resolve_source_dir("sample") == SAMPLE_DIR


def test_directory_and_file_url(tmp_path):
    """A directory path and its file:// URL resolve to the same directory."""
    assert resolve_source_dir(str(tmp_path)) == tmp_path.resolve()
    assert resolve_source_dir(tmp_path.as_uri()) == tmp_path.resolve()


@pytest.mark.parametrize("uri", ["s3://bucket/x", "database"])
def test_unsupported_uri(uri):
    """Other schemes and 'database' are not directories."""
    with pytest.raises(DataValidationError, match=uri.split(":")[0]):
        resolve_source_dir(uri)


def test_missing_directory(tmp_path):
    """A non-existent directory is named."""
    with pytest.raises(DataValidationError, match="does not exist"):
        resolve_source_dir(str(tmp_path / "nope"))


def test_dataset_path_finds_csv_or_parquet(tmp_path):
    """dataset_path finds <name>.csv or <name>.parquet."""
    (tmp_path / "markets.csv").write_text("msa_id,name\n")
    (tmp_path / "market_jobs.parquet").write_bytes(b"x")
    assert dataset_path(tmp_path, "markets").name == "markets.csv"
    assert dataset_path(tmp_path, "market_jobs").name == "market_jobs.parquet"


def test_dataset_path_missing(tmp_path):
    """A missing dataset names dataset and directory."""
    with pytest.raises(DataValidationError, match=f"market_urban.*{tmp_path}"):
        dataset_path(tmp_path, "market_urban")


def test_dataset_path_ambiguous(tmp_path):
    """Both .csv and .parquet present is ambiguous."""
    (tmp_path / "markets.csv").write_text("")
    (tmp_path / "markets.parquet").write_text("")
    with pytest.raises(DataValidationError, match="ambiguous"):
        dataset_path(tmp_path, "markets")


def test_content_hash_is_xxh3_128_of_bytes(tmp_path):
    """content_hash equals xxh3_128 of the whole file."""
    path = tmp_path / "f.bin"
    data = bytes(range(256)) * 50_000
    path.write_bytes(data)
    assert content_hash(path) == xxhash.xxh3_128_hexdigest(data)


def test_content_hash_of_empty_file(tmp_path):
    """An empty file hashes like empty bytes (the read loop ends at once)."""
    path = tmp_path / "empty.bin"
    path.write_bytes(b"")
    assert content_hash(path) == xxhash.xxh3_128_hexdigest(b"")
