"""Restricted unpickling of dataset files (3DPW sequence files, PoseEmbroider caches).

Plain :func:`pickle.load` executes whatever callable a pickle names, so a downloaded or
user-supplied ``.pkl`` could run ``os.system``. :class:`SafeUnpickler` resolves only the globals
needed to rebuild numpy arrays, numpy scalars/dtypes and plain containers; every other global is
refused with :class:`UnsafePickleError` naming the file and the refused ``module.name``.

Python-2 pickles (3DPW) are read with ``encoding="latin1"`` so that the raw bytes of numpy arrays
survive; ``copy_reg``/``__builtin__`` names are mapped to Python 3 by ``fix_imports``.
"""

from __future__ import annotations

import io
import pickle
from pathlib import Path
from typing import Any

# (module, name) pairs that may be resolved. Everything here only rebuilds data.
ALLOWED_GLOBALS: frozenset[tuple[str, str]] = frozenset(
    {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"),
        ("numpy.core.numeric", "_frombuffer"),
        ("numpy._core.numeric", "_frombuffer"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        # Python-3 protocol-2 pickles encode ``bytes`` through _codecs.encode(str, "latin1").
        ("_codecs", "encode"),
        # plain containers/values that have no dedicated opcode
        ("builtins", "set"),
        ("builtins", "frozenset"),
        ("builtins", "complex"),
        ("builtins", "bytearray"),
        ("collections", "OrderedDict"),
    }
)

# numpy scalar/dtype pickles may name concrete dtype classes such as numpy.dtypes.Float64DType
_ALLOWED_MODULE_PREFIXES = ("numpy.dtypes",)


class UnsafePickleError(pickle.UnpicklingError, ValueError):
    """A pickle asked for a global that is not on the allow-list (or could not be read). A
    ``ValueError`` too, like every bad-input error of the loaders (the CLI shows it in one line)."""


class SafeUnpickler(pickle.Unpickler):
    """An unpickler whose :meth:`find_class` only resolves :data:`ALLOWED_GLOBALS`."""

    def __init__(self, file: io.BufferedIOBase, source: str = "<pickle>", **kwargs: Any) -> None:
        super().__init__(file, **kwargs)
        self._source = source

    def find_class(self, module: str, name: str) -> Any:  # noqa: D102 (documented on the class)
        if (module, name) in ALLOWED_GLOBALS or (
            module.startswith(_ALLOWED_MODULE_PREFIXES) and name.endswith("DType")
        ):
            return super().find_class(module, name)
        raise UnsafePickleError(
            f"{self._source}: refusing to load global '{module}.{name}' from the pickle; only numpy "
            "arrays and plain containers are allowed (the file may be malicious or not a dataset file)"
        )

    def persistent_load(self, pid: Any) -> Any:  # noqa: D102
        raise UnsafePickleError(f"{self._source}: persistent ids are not allowed in dataset pickles")


def safe_load_pickle(path: str | Path, encoding: str = "latin1") -> Any:
    """Load a pickle file with :class:`SafeUnpickler`.

    Raises ``FileNotFoundError`` (naming the file) when it is missing and
    :class:`UnsafePickleError` when it names a forbidden global or is corrupt.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: pickle file not found")
    with path.open("rb") as fh:
        try:
            return SafeUnpickler(fh, source=str(path), encoding=encoding).load()
        except UnsafePickleError:
            raise
        except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError,
                IndexError, KeyError, ImportError, UnicodeDecodeError) as exc:
            raise UnsafePickleError(f"{path}: corrupt or unsupported pickle ({exc})") from None


def safe_loads(data: bytes, source: str = "<bytes>", encoding: str = "latin1") -> Any:
    """Like :func:`safe_load_pickle` for an in-memory pickle."""
    try:
        return SafeUnpickler(io.BytesIO(data), source=source, encoding=encoding).load()
    except UnsafePickleError:
        raise
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError,
            IndexError, KeyError, ImportError, UnicodeDecodeError) as exc:
        raise UnsafePickleError(f"{source}: corrupt or unsupported pickle ({exc})") from None
