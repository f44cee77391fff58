"""aker_tasks.testing as a user loads it: ``pytest_plugins = ["aker_tasks.testing"]`` in a conftest.

Each test writes a small user project with pytester and runs pytest on it in a new process, the way a
user's suite runs (without this repository's setup.cfg, so without aker's own options). Not inline:
an inline run forgets the modules first imported inside it, and numpy cannot be imported twice.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"
CONFTEST = 'pytest_plugins = ["aker_tasks.testing"]\n'


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """An empty user project whose conftest enables the plugin; a developer's AKER_* settings are set."""
    pytester.makeconftest(CONFTEST)
    # What a developer's shell may hold: none of it may reach the user's tests.
    monkeypatch.setenv("AKER_SOURCE_URI", "/nonexistent/source")
    monkeypatch.setenv("AKER_WEIGHTS__SUPPLY", "9")
    monkeypatch.setenv("LUIGI_CONFIG_PATH", str(pytester.path / "developer-luigi.cfg"))
    monkeypatch.setenv("OPENLINEAGE_URL", "http://127.0.0.1:9/developer-receiver")
    return pytester


def test_isolation_hides_the_developers_settings(project: pytest.Pytester) -> None:
    """A user's test sees default settings, no lineage receiver and a cache under its own tmp_path."""
    project.makepyfile(
        """
        import os
        from aker_core.config import get_settings

        def test_defaults(tmp_path):
            settings = get_settings()
            assert settings.source_uri == "sample"
            assert settings.weights.supply == 0.3
            assert settings.cache_path == tmp_path / "cache"
            assert "LUIGI_CONFIG_PATH" not in os.environ
            assert "OPENLINEAGE_URL" not in os.environ and os.environ["OPENLINEAGE_DISABLED"] == "true"
            assert os.getcwd() == str(tmp_path / "work")
        """
    )
    project.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_settings_changed_in_one_test_do_not_reach_the_next(project: pytest.Pytester) -> None:
    """aker_configure changes settings for one test only; the next test sees the defaults again."""
    project.makepyfile(
        """
        from aker_core.config import get_settings

        def test_a_changes(aker_configure):
            settings = aker_configure(weights={"supply": 1, "jobs": 0, "urban": 0, "outdoor": 0}, seed=7)
            assert settings.weights.supply == 1 and settings.seed == 7
            assert get_settings().seed == 7

        def test_b_sees_defaults():
            assert get_settings().weights.supply == 0.3
            assert get_settings().seed is None
        """
    )
    project.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:randomly").assert_outcomes(passed=2)


def test_user_task_test_builds_the_sample_twice_from_scratch(project: pytest.Pytester) -> None:
    """Two tests build ScoreMarkets each from an empty cache and database (nothing shared between them)."""
    project.makepyfile(
        """
        import pytest
        from aker_tasks import ScoreMarkets

        @pytest.mark.parametrize("attempt", [1, 2])
        def test_scores(aker_source, aker_database, aker_build, tmp_path, attempt):
            done = aker_build(ScoreMarkets(as_of="2024-06-01"))
            # From scratch each time: every task ran, none was found complete from the other test.
            assert not done.get("already_done")
            assert any(t.startswith("PublishScores") for t in done["completed"])
            assert aker_database.startswith("sqlite:///" + str(tmp_path))
            assert (tmp_path / "cache" / "targets").is_dir()
        """
    )
    project.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=2)


def test_failed_build_raises_build_failed(project: pytest.Pytester) -> None:
    """aker_build raises BuildFailed (an AssertionError) with Luigi's summary when a run fails."""
    project.makepyfile(
        """
        import pytest
        from aker_tasks import ScoreMarkets
        from aker_tasks.testing import BuildFailed

        def test_bad_source(aker_source, aker_database, aker_build):
            (aker_source / "market_jobs.csv").write_text("")
            with pytest.raises(BuildFailed, match="FetchSource"):
                aker_build(ScoreMarkets(as_of="2024-06-01"))
            aker_build(ScoreMarkets(as_of="2024-06-01"), expect_success=False)
        """
    )
    project.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_keep_env_ini_option_keeps_named_variables(project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    """Variables named in the aker_keep_env ini option survive the isolation; others do not."""
    monkeypatch.setenv("AKER_TEST_POSTGRES_DSN", "postgresql+psycopg://ci@db/test")
    project.makeini("[pytest]\naker_keep_env = AKER_TEST_POSTGRES_DSN\n")
    project.makepyfile(
        """
        import os

        def test_kept():
            assert os.environ["AKER_TEST_POSTGRES_DSN"] == "postgresql+psycopg://ci@db/test"
            assert "AKER_SOURCE_URI" not in os.environ
        """
    )
    project.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_database_url_fixture_can_be_overridden(project: pytest.Pytester) -> None:
    """Overriding aker_database_url in a conftest points aker_database (and the settings) elsewhere."""
    project.makeconftest(
        CONFTEST
        + """
import pytest

@pytest.fixture
def aker_database_url(tmp_path):
    return f"sqlite:///{tmp_path / 'elsewhere.db'}"
"""
    )
    project.makepyfile(
        """
        from aker_core.config import get_settings

        def test_url(aker_database, tmp_path):
            assert (tmp_path / "elsewhere.db").is_file()
            assert get_settings().database_url == aker_database
        """
    )
    project.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_readme_example_passes(project: pytest.Pytester) -> None:
    """README's "Testing your own tasks" conftest line and test module pass as a user's project."""
    text = README.read_text(encoding="utf-8")
    start = text.index("\n## Testing your own tasks\n")
    section = text[start : text.index("\n## ", start + 1)]
    conftest, module = re.findall(r"```python\n(.*?)```", section, re.DOTALL)
    assert conftest == CONFTEST
    project.makepyfile(test_readme_example=module)
    project.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=3)
