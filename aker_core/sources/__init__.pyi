"""Names of :mod:`aker_core.sources`, loaded on first use (see its ``__init__.py``)."""

from .database import read_table_from_db as read_table_from_db
from .location import (
    DATABASE_SOURCE as DATABASE_SOURCE,
)
from .location import (
    DATASETS as DATASETS,
)
from .location import (
    MARKETS as MARKETS,
)
from .location import (
    SAMPLE_DIR as SAMPLE_DIR,
)
from .location import (
    SOURCE_TABLES as SOURCE_TABLES,
)
from .location import (
    content_hash as content_hash,
)
from .location import (
    dataset_path as dataset_path,
)
from .location import (
    resolve_source_dir as resolve_source_dir,
)
from .reader import read_dataset as read_dataset
from .reader import read_dataset_as_of as read_dataset_as_of
from .schema import KEY_COLUMNS as KEY_COLUMNS
from .schema import SCHEMAS as SCHEMAS
from .validate import validate_table as validate_table
