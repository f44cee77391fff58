"""aker's Alembic script directory, shipped inside the package so an installed wheel can migrate.

Alembic loads ``env.py`` and ``versions/*.py`` by path (see :func:`aker_data.migrate.alembic_config`
and the repository's ``alembic.ini``); nothing here is meant to be imported.
"""
