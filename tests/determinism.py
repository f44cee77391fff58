"""Run a computation in a fresh interpreter, so a determinism test compares two processes.

A result that depended on the process -- string hashing (``PYTHONHASHSEED``), set or dict
iteration order, memory addresses, thread scheduling -- differs between the two.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa

ROOT = Path(__file__).resolve().parent.parent


def table_from_fresh_process(code: str, *, hash_seed: str) -> pa.Table:
    """The Arrow table ``code`` (Python source) leaves in ``result``, computed in a new interpreter.

    Args:
        code: statements that assign a ``pyarrow.Table`` to ``result``.
        hash_seed: the child's ``PYTHONHASHSEED`` (pick one unlike this process's).
    """
    script = (
        f"{code}\n"
        "import sys, pyarrow as pa\n"
        "with pa.ipc.new_stream(sys.stdout.buffer, result.schema) as w:\n"
        "    w.write_table(result)\n"
    )
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, check=False, timeout=120
    )
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-2000:]
    return pa.ipc.open_stream(done.stdout).read_all()
