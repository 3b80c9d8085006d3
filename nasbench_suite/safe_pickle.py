"""Unpickling that never runs code from the file: only an allow-list of plain types.

Data files (CIFAR batches, benchmark pickles) are untrusted input. A pickle may name any
importable callable; this unpickler refuses every global outside the list below.
"""

import io
import pickle

# numpy arrays and dtypes (old and new module paths), and the py2 str -> bytes shim.
ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("_codecs", "encode"),
    ("collections", "OrderedDict"),
    ("builtins", "set"),
    ("builtins", "frozenset"),
    ("builtins", "complex"),
}


class UnsafePickleError(pickle.UnpicklingError):
    pass


class RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) not in ALLOWED_GLOBALS:
            raise UnsafePickleError(f"refusing to load {module}.{name}: not a plain data type")
        return super().find_class(module, name)


def loads(data: bytes, encoding: str = "ASCII"):
    return RestrictedUnpickler(io.BytesIO(data), encoding=encoding).load()


def load(file, encoding: str = "ASCII"):
    return RestrictedUnpickler(file, encoding=encoding).load()
