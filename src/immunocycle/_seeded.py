"""Per-patient seeded uniforms, many at once: ``default_rng(key).random()`` for every key.

The trial draws common random numbers one per patient (an AE, an enrolment time, a selection),
each from its own generator seeded by ``(seed, patient_id, stream, ...)``, so a patient's draw is
the same whatever the chunking, the worker count or the arm. Building a NumPy generator costs
~20 us, which a trial paid ~10 times per patient. :func:`first_uniforms` computes the same
numbers for a whole array of keys with vectorized integer arithmetic: NumPy's
:class:`~numpy.random.SeedSequence` (its entropy mixing and ``generate_state``) and the first
output of :class:`~numpy.random.PCG64` (``default_rng``'s bit generator), bit for bit.

References
----------
.. [SeedSequence] O'Neill ME, "Developing a seed_seq alternative" (2015), the hash mixing that
   ``numpy.random.SeedSequence`` implements (numpy/random/bit_generator.pyx).
.. [PCG] O'Neill ME. PCG: a family of simple fast space-efficient statistically good algorithms
   for random number generation. HMC-CS-2014-0905 (2014): the 128-bit LCG with the XSL-RR
   output function, ``numpy.random.PCG64``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["first_uniforms", "patient_uniforms"]

# SeedSequence's constants (numpy/random/bit_generator.pyx)
_POOL_SIZE = 4
_INIT_A, _MULT_A = 0x43B0D7E5, 0x931E8875
_INIT_B, _MULT_B = 0x8B51F9DD, 0x58F38DED
_MIX_MULT_L, _MIX_MULT_R = 0xCA01F9DD, 0x4973F715
_XSHIFT = 16
_M32 = 0xFFFFFFFF
# PCG64's 128-bit multiplier, high and low 64-bit halves
_PCG_MULT = (0x2360ED051FC65DA4, 0x4385DF649FCCF645)


def _hash_constants(count: int, init: int, mult: int) -> list[int]:
    """The multipliers SeedSequence's hash uses, call by call: they depend only on how many
    values were hashed before, never on the values, so every key shares them."""
    out, h = [], init
    for _ in range(count):
        out.append(h)
        h = (h * mult) & _M32
    return out


def _hashmix(value: np.ndarray, const: int, mult: int) -> np.ndarray:
    value = value ^ np.uint32(const)
    value = value * np.uint32((const * mult) & _M32)
    return value ^ (value >> np.uint32(_XSHIFT))


def _mix(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    result = np.uint32(_MIX_MULT_L) * x - np.uint32(_MIX_MULT_R) * y
    return result ^ (result >> np.uint32(_XSHIFT))


def _pool(words: np.ndarray) -> list[np.ndarray]:
    """SeedSequence's entropy pool (4 uint32 per key) from the keys' words (N, K)."""
    k = words.shape[1]
    n_hash = _POOL_SIZE + _POOL_SIZE * (_POOL_SIZE - 1) + max(0, k - _POOL_SIZE) * _POOL_SIZE
    consts = iter(_hash_constants(n_hash, _INIT_A, _MULT_A))
    zero = np.zeros(words.shape[0], np.uint32)
    mixer = [_hashmix(words[:, i] if i < k else zero, next(consts), _MULT_A)
             for i in range(_POOL_SIZE)]
    for i_src in range(_POOL_SIZE):
        for i_dst in range(_POOL_SIZE):
            if i_src != i_dst:
                mixer[i_dst] = _mix(mixer[i_dst], _hashmix(mixer[i_src], next(consts), _MULT_A))
    for i_src in range(_POOL_SIZE, k):
        for i_dst in range(_POOL_SIZE):
            mixer[i_dst] = _mix(mixer[i_dst], _hashmix(words[:, i_src], next(consts), _MULT_A))
    return mixer


def _state_words(pool: list[np.ndarray]) -> list[np.ndarray]:
    """``generate_state(4, uint64)``: four uint64 per key (two uint32 words each, low first)."""
    consts = _hash_constants(8, _INIT_B, _MULT_B)
    w = [_hashmix(pool[i % _POOL_SIZE], consts[i], _MULT_B).astype(np.uint64) for i in range(8)]
    return [w[2 * i] | (w[2 * i + 1] << np.uint64(32)) for i in range(4)]


def _mul128(ah, al, bh: int, bl: int):
    """(ah, al) * (bh, bl) modulo 2**128, as (high, low) uint64 halves."""
    m32, s32 = np.uint64(_M32), np.uint64(32)
    b0, b1 = np.uint64(bl & _M32), np.uint64(bl >> 32)
    a0, a1 = al & m32, al >> s32
    p00, p01, p10, p11 = a0 * b0, a0 * b1, a1 * b0, a1 * b1
    mid = (p00 >> s32) + (p01 & m32) + (p10 & m32)
    low = (p00 & m32) | (mid << s32)
    high = p11 + (p01 >> s32) + (p10 >> s32) + (mid >> s32)
    return high + ah * np.uint64(bl) + al * np.uint64(bh), low


def _add128(ah, al, bh, bl):
    low = al + bl
    return ah + bh + (low < al).astype(np.uint64), low


def _pcg_step(state, inc):
    return _add128(*_mul128(*state, *_PCG_MULT), *inc)


def _first_double(seed_words: list[np.ndarray]) -> np.ndarray:
    """PCG64 seeded from ``generate_state`` words (state high/low, increment high/low), then
    its first ``next_double``: the top 53 bits of the XSL-RR output, scaled to [0, 1)."""
    one = np.uint64(1)
    init_state = (seed_words[0], seed_words[1])
    inc = ((seed_words[2] << one) | (seed_words[3] >> np.uint64(63)), (seed_words[3] << one) | one)
    # pcg_setseq_128_srandom_r: state 0, one step (state = inc), add the seed, one step
    state = _pcg_step(_add128(*inc, *init_state), inc)
    high, low = _pcg_step(state, inc)  # the draw's step
    x, rot = high ^ low, high >> np.uint64(58)
    out = (x >> rot) | (x << ((np.uint64(64) - rot) & np.uint64(63)))
    return (out >> np.uint64(11)).astype(np.float64) * (1.0 / 9007199254740992.0)


def first_uniforms(keys) -> np.ndarray:
    """``np.random.default_rng(list(key)).random()`` for every row of ``keys``, bit for bit.

    Parameters
    ----------
    keys : array of int, shape (N, K)
        One seed key per row (non-negative integers, e.g. ``(seed, patient_id, stream)``).

    Returns
    -------
    ndarray of float, shape (N,)
        The first standard uniform (in [0, 1)) of the generator each key seeds.

    Notes
    -----
    Keys whose entries all fit in 32 bits (NumPy then reads each entry as one word) are
    computed vectorized; any other row goes through NumPy itself, so the result is the same.
    """
    k = np.asarray(keys)
    if k.ndim != 2:
        raise ValueError(f"keys must be 2-D (keys x entries), got shape {k.shape}")
    out = np.empty(k.shape[0], dtype=float)
    if not k.shape[0]:
        return out
    fast = np.all((k >= 0) & (k <= _M32), axis=1) if k.dtype.kind in "iu" else \
        np.zeros(k.shape[0], bool)
    if fast.any():
        out[fast] = _first_double(_state_words(_pool(k[fast].astype(np.uint32))))
    for r in np.flatnonzero(~fast):
        out[r] = np.random.default_rng([int(v) for v in k[r]]).random()
    return out


def patient_uniforms(seed: int, patient_ids, *stream: int) -> np.ndarray:
    """``np.random.default_rng([seed, patient_id, *stream]).random()`` for every patient.

    Parameters
    ----------
    seed : int
        The run's seed.
    patient_ids : array of int, shape (N,)
        Patient identifiers (non-negative).
    *stream : int
        The draw's stream numbers, which keep different draws of one patient apart.

    Returns
    -------
    ndarray of float, shape (N,)
        One uniform in [0, 1) per patient, the same whatever the chunking.
    """
    ids = np.asarray(patient_ids, dtype=np.int64).reshape(-1)
    keys = np.empty((ids.size, 2 + len(stream)), dtype=np.int64)
    keys[:, 0], keys[:, 1] = int(seed), ids
    for j, value in enumerate(stream):
        keys[:, 2 + j] = int(value)
    return first_uniforms(keys)
