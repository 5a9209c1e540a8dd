"""``roma`` (rotation conversions), imported on its first use rather than when a module loads.

roma imports ``torch._dynamo`` as it loads, about 1.5 s on these machines. Most processes that
import the library never convert a rotation (a search, a CLI's ``--help``, an index reader), so
every module takes roma from here: ``from pose_search.body.rotations import roma``, then calls
``roma.rotvec_to_rotmat(...)`` as usual.

``roma`` here is a plain object, not a module: nothing that walks ``sys.modules`` (``inspect``,
pickling, torch's tracing rules) can trigger the import half-way through another one, which a
lazy module (``importlib.util.LazyLoader``) does.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any


class _OnFirstUse:
    """Forwards attribute access to the module ``name``, importing it the first time."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._module: ModuleType | None = None

    def __getattr__(self, attr: str) -> Any:  # only for names this object does not have itself
        if self._module is None:
            self._module = importlib.import_module(self._name)
        return getattr(self._module, attr)

    def __repr__(self) -> str:
        return f"<{self._name}, imported on first use>"


roma: Any = _OnFirstUse("roma")
