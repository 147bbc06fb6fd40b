"""The kernel's compiler: numba's ``njit``, with an on-disk cache that cannot go stale.

numba keys each cached function on the source of its own file only.  The kernel calls and
inlines functions from several mechanism modules (``controls``, ``markets``, ...), so an
edit to one of them used to leave ``engine.run_block``'s cached machine code in place: the
engine ran the old code while :mod:`standoff.core.reference` ran the new, until someone deleted
the cache by hand.  Here every compiled function of the package is stamped with one digest
of all the kernel's modules (every module of the package that compiles with
:func:`kernel_jit`, and :mod:`standoff.layout`), so an edit to any of them recompiles all of
them on the next run, and nothing else does.

The cache lives where numba would put it (``__pycache__`` beside the module, else the
user-wide cache folder).  Plugging in the stamp uses numba's caching classes
(``numba.core.caching``), which are not a promised API; ``tests/test_jit_cache.py`` edits a
stage in a copy of the package and checks that the change takes effect.
"""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Callable

from numba import njit
from numba.core.caching import FunctionCache, InTreeCacheLocator, UserWideCacheLocator
from numba.core.caching import CompileResultCacheImpl

_HERE = Path(__file__).resolve().parent


def kernel_modules() -> list[Path]:
    """The files whose edits must recompile the kernel: every module of the compiled core that
    compiles with :func:`kernel_jit`, this one, :mod:`standoff.layout` beside the core, and the
    model's constants it freezes (``defaults/constants.csv``)."""
    mods = [p for p in sorted(_HERE.glob("*.py"))
            if p.name == "_jit.py" or "kernel_jit" in p.read_text(encoding="utf-8")]
    return [*mods, _HERE.parent / "layout.py", _HERE.parent / "defaults" / "constants.csv"]


def kernel_digest() -> bytes:
    """SHA-256 over the kernel's modules, by name and content."""
    h = hashlib.sha256()
    for p in kernel_modules():
        h.update(p.name.encode())
        h.update(p.read_bytes())
    return h.digest()


_DIGEST = kernel_digest()


class _KernelStamp:
    def get_source_stamp(self) -> bytes:  # numba compares this with the stamp saved in the cache index
        return _DIGEST


class _InTree(_KernelStamp, InTreeCacheLocator):
    pass


class _UserWide(_KernelStamp, UserWideCacheLocator):
    pass


class _Impl(CompileResultCacheImpl):
    _locator_classes = [_InTree, _UserWide]


class _KernelCache(FunctionCache):
    _impl_class = _Impl


def kernel_jit(**options: Any) -> Callable[[Callable[..., Any]], Any]:
    """``numba.njit(**options)`` with the package-wide cache stamp (``cache`` is implied).

    Examples
    --------
    >>> @kernel_jit(error_model="numpy")
    ... def twice(x):
    ...     return 2.0 * x
    >>> twice(1.5)
    3.0
    """
    options.pop("cache", None)

    def decorate(fn: Callable[..., Any]) -> Any:
        disp = njit(**options)(fn)
        try:
            disp._cache = _KernelCache(disp.py_func)  # what Dispatcher.enable_caching() does, with our stamp
        except RuntimeError:  # no file to cache beside (a function typed into a console): compile each time
            pass
        return disp
    return decorate
