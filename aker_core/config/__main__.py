"""``python -m aker_core.config --show-effective [--json]``: print the effective settings."""

from __future__ import annotations

import argparse
import sys

import orjson
from pydantic import ValidationError
from pydantic_settings import SettingsError

from aker_core.config.effective import effective_settings
from aker_core.config.errors import describe_validation_error
from aker_core.config.settings import Settings


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code (0 ok, 2 invalid configuration)."""
    parser = argparse.ArgumentParser(prog="python -m aker_core.config", description=__doc__)
    parser.add_argument("--show-effective", action="store_true", help="print every setting and its source")
    parser.add_argument("--json", action="store_true", help="print as JSON instead of a table")
    args = parser.parse_args(argv)
    try:
        settings = Settings()
    except (ValidationError, SettingsError) as e:
        print(describe_validation_error(e), file=sys.stderr)
        return 2
    rows = effective_settings(settings)
    if args.json:
        payload = {
            "settings": {r["field"]: {k: v for k, v in r.items() if k != "field"} for r in rows},
            "config_hash": settings.config_hash,
        }
        sys.stdout.write(orjson.dumps(payload, option=orjson.OPT_INDENT_2).decode() + "\n")
        return 0
    if not args.show_effective:
        parser.print_help()
        return 0
    width = max(len(r["field"]) for r in rows)
    for r in rows:
        value = r["value"]
        shown = orjson.dumps(value).decode() if isinstance(value, dict | list) else str(value)
        flag = " *" if r["affects_results"] else ""
        print(f"{r['field']:<{width}}  {shown}  [{r['source']}]{flag}")
    print(f"\nconfig_hash = {settings.config_hash}   (* = affects results and the hash)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
