"""Market scoring: rules, point-in-time selection, pillar scores, composite and normalisation.

Everything here is pure, vectorised (pyarrow + numpy) arithmetic without I/O; reading sources
lives in :mod:`aker_core.sources` and persistence in :mod:`aker_core.markets`. Identical input
gives bit-identical output, with rows sorted by ``msa_id``.

Typical flow::

    rows = latest_as_of(source_table, "2024-06-01")       # per source table
    pillar = score_pillar("supply", rows)                  # per pillar
    result = compose(join_pillars([supply, jobs, urban, outdoor]), weights=None)
"""

import lazy_loader

# The names listed in __init__.pyi load on first use (PEP 562, via scientific-python's
# lazy_loader): importing a light submodule, as a fully cached run does, loads no heavy sibling.
__getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)
