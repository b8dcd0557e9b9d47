"""Per-patient seeded uniforms: the vectorized SeedSequence + PCG64 gives NumPy's numbers."""

from __future__ import annotations

import numpy as np
import pytest

from immunocycle._seeded import first_uniforms, patient_uniforms


def _numpy(keys) -> np.ndarray:
    return np.array([np.random.default_rng([int(v) for v in row]).random() for row in keys])


@pytest.mark.parametrize("entries", [1, 2, 3, 4, 5, 7])
def test_first_uniforms_are_numpys_bit_for_bit(entries):
    # short keys pad SeedSequence's pool of 4 words, long ones mix in after it; 0 and 2**32 - 1
    # are the edges of one 32-bit word
    rng = np.random.default_rng(entries)
    keys = rng.integers(0, 2**32, size=(400, entries), dtype=np.int64)
    keys[:50] = rng.integers(0, 3, size=(50, entries))
    keys[50, :] = 2**32 - 1
    np.testing.assert_array_equal(first_uniforms(keys), _numpy(keys))


def test_keys_beyond_one_word_go_through_numpy():
    # an entry >= 2**32 is two words to SeedSequence: those rows take NumPy's own path
    keys = np.array([[2**32, 5, 20], [7, 2**40 + 3, 20], [7, 5, 20]], dtype=np.int64)
    np.testing.assert_array_equal(first_uniforms(keys), _numpy(keys))


def test_patient_uniforms_key_is_seed_patient_then_streams():
    ids = np.array([0, 1, 17, 250_000])
    got = patient_uniforms(11, ids, 0xAE, 3)
    np.testing.assert_array_equal(got, _numpy([[11, i, 0xAE, 3] for i in ids]))
    # a patient's number does not depend on who else is in the batch
    assert patient_uniforms(11, ids[2:], 0xAE, 3)[0] == got[2]
    assert not np.array_equal(got, patient_uniforms(11, ids, 0xAE, 4))


def test_negative_entries_are_refused_as_numpy_refuses_them():
    with pytest.raises(ValueError):
        first_uniforms(np.array([[1, -2, 3]]))
    with pytest.raises(ValueError, match="2-D"):
        first_uniforms(np.array([1, 2, 3]))
