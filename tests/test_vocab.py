"""IdVocabulary: movie ids <-> item codes, with unknown ids reported as -1, never an error."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recsys.vocab import UNKNOWN, IdVocabulary


@pytest.fixture
def vocab() -> IdVocabulary:
    return IdVocabulary(np.array([10, 3, 2**40, 7], np.int64))


def test_round_trip_and_lookup(vocab):
    assert len(vocab) == 4 and vocab.ids.dtype == np.int64
    assert [vocab.code(m) for m in (10, 3, 2**40, 7)] == [0, 1, 2, 3]
    np.testing.assert_array_equal(vocab.ids_of([3, 0]), [7, 10])
    assert 7 in vocab and 8 not in vocab


@pytest.mark.parametrize(
    "query",
    [
        [7, 99, 10],
        np.array([7, 99, 10], np.int32),
        pd.Series([7, 99, 10]),
        [np.int64(7), 99, 10],
    ],
)
def test_codes_mark_unknown_ids(vocab, query):
    np.testing.assert_array_equal(vocab.codes(query), [3, UNKNOWN, 0])


@pytest.mark.parametrize("odd", [10**30, -(10**30), "10", 10.0, None, True])
def test_ids_that_cannot_be_in_the_vocabulary_are_unknown(vocab, odd):
    assert vocab.code(odd) is None
    assert vocab.codes([odd, 3]).tolist() == [UNKNOWN, 1]


def test_split_keeps_input_order(vocab):
    codes, unknown = vocab.split([7, 5, 10**30, 10])
    assert codes.tolist() == [3, 0] and unknown == [5, 10**30]


def test_bad_vocabularies_are_refused():
    with pytest.raises(ValueError, match="unique; repeated: \\[3\\]"):
        IdVocabulary([1, 3, 3])
    with pytest.raises(ValueError, match="1-D integer array"):
        IdVocabulary(np.array([1.5, 2.0]))
    assert len(IdVocabulary([])) == 0 and IdVocabulary([]).codes([1]).tolist() == [UNKNOWN]
