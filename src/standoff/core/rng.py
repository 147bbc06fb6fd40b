"""Counter-based random numbers: the same draw for the same (seed, key, member, day).

A draw depends only on the seed, a key naming what is drawn and the member's global
index, never on how members are split into chunks or workers.  This is what makes a run
reproducible on one core or a cluster, and gives common random numbers across scenarios:
two scenarios that name the same uncertain parameter see the same quantiles.
"""
from __future__ import annotations

import hashlib

import numpy as np
from ._jit import kernel_jit

_MASK = np.uint64(0xFFFFFFFFFFFFFFFF)


def key_hash(key: str) -> int:
    """A stable 63-bit integer for a string key (independent of Python's hash seed)."""
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "little") >> 1


def _splitmix(x: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        z = x + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def uniforms(seed: int, key: str, start: int, n: int) -> np.ndarray:
    """``n`` uniforms in (0, 1) for members ``start .. start+n-1``."""
    base = _splitmix(np.array([seed & 0x7FFFFFFFFFFFFFFF], dtype=np.uint64) ^ np.uint64(key_hash(key)))[0]
    members = np.arange(start, start + n, dtype=np.uint64)
    with np.errstate(over="ignore"):
        z = _splitmix(_splitmix(members + base * np.uint64(0x2545F4914F6CDD1D)))
    return ((z >> np.uint64(11)).astype(np.float64) + 0.5) * (1.0 / 9007199254740992.0)


@kernel_jit(inline="always", error_model="numpy")
def _mix(z: np.uint64) -> np.uint64:
    z = z + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@kernel_jit(error_model="numpy")
def kernel_uniform(seed: np.uint64, member: np.int64, day: np.int64, stream: np.int64) -> float:
    """A uniform in (0, 1) inside the compiled kernel, keyed by member, day and stream."""
    z = _mix(seed ^ np.uint64(member) * np.uint64(0xD1B54A32D192ED03))
    z = _mix(z ^ np.uint64(day) * np.uint64(0x8CB92BA72F3D8DD7))
    z = _mix(z ^ np.uint64(stream) * np.uint64(0x9E3779B97F4A7C15))
    return (np.float64(z >> np.uint64(11)) + 0.5) * (1.0 / 9007199254740992.0)
