"""The runbook's blocks, read from README.md and the reference runbook, work verbatim.

Nothing is copied here, so the docs and this test cannot drift: the Python heredoc is taken from
README's "The core-runtime runbook" section and from ``../shared/reference/runbook-core-runtime.md``
(beside the checkout; a wheel or a clone elsewhere has no such directory, and that case skips).
"""

from __future__ import annotations

import contextlib
import io
import re
import textwrap
from pathlib import Path

import pytest
from sqlalchemy import func, select

from aker_core.sample.__main__ import main as sample_main
from aker_data.engine import create_engine_from_url
from aker_data.models import PillarScore, Run

ROOT = Path(__file__).resolve().parents[3]
README = ROOT / "README.md"
REFERENCE = ROOT.parent / "shared" / "reference" / "runbook-core-runtime.md"
#: A ``python - <<'PY'`` heredoc, possibly indented (the reference runbook nests it in a list).
HEREDOC = re.compile(r"^([ \t]*)python - <<'PY'[^\n]*\n(.*?)^\1PY$", re.MULTILINE | re.DOTALL)


def readme_runbook() -> str:
    """README's "The core-runtime runbook" section."""
    text = README.read_text(encoding="utf-8")
    start = text.index("\n## The core-runtime runbook\n")
    end = text.index("\n## ", start + 1)
    return text[start:end]


def reference_runbook() -> str:
    """The reference runbook, or a skip saying why it is not here."""
    if not REFERENCE.is_file():
        pytest.skip(f"no reference runbook at {REFERENCE} (only beside the project's own checkout)")
    return REFERENCE.read_text(encoding="utf-8")


def heredoc(markdown: str) -> str:
    """The one Python heredoc of ``markdown``, dedented."""
    found = HEREDOC.findall(markdown)
    assert len(found) == 1, f"expected one python heredoc, found {len(found)}"
    return textwrap.dedent(found[0][1])


def bash_commands(markdown: str) -> list[str]:
    """Command lines of the ```bash blocks (heredoc bodies and comments left out)."""
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", markdown, re.DOTALL):
        for line in HEREDOC.sub(r"\1python - <<'PY'", textwrap.dedent(block)).splitlines():
            # A trailing & (run in the background) is the same command.
            command = line.split("  #")[0].strip().removesuffix("&").strip()
            if command and not command.startswith("#"):
                commands.append(command)
    return commands


@pytest.mark.parametrize("source", ["README.md", "reference runbook"])
def test_runbook_block(source, engine, db_url, monkeypatch):
    """Loading the sample then running the runbook's heredoc stores 43 scores tied to a completed run."""
    block = heredoc(readme_runbook() if source == "README.md" else reference_runbook())
    monkeypatch.setenv("AKER_POSTGIS_DSN", db_url)
    assert sample_main(["load"]) == 0
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(block, source, "exec"), {})
    run_id = re.search(r"run_id=(\S+)", out.getvalue()).group(1)  # type: ignore[union-attr]
    check = create_engine_from_url(db_url)
    try:
        with check.connect() as conn:
            assert conn.scalar(select(Run.status).where(Run.run_id == run_id)) == "completed"
            stored = conn.scalar(select(func.count()).select_from(PillarScore).where(PillarScore.run_id == run_id))
            assert stored == 43
    finally:
        check.dispose()


def test_readme_runbook_is_the_reference_one():
    """README's heredoc is the reference's, and README lists every command of the reference's bash blocks."""
    reference = reference_runbook()
    readme = readme_runbook()
    assert heredoc(readme) == heredoc(reference)
    readme_commands = set(bash_commands(readme))
    missing = [c for c in bash_commands(reference) if c not in readme_commands]
    assert not missing, f"README's runbook section lacks {missing}"
