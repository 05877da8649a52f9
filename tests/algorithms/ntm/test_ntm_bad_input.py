"""Bad input fails the job with a typed error that names the problem."""

from __future__ import annotations

import numpy as np
import pytest

from openmaker.algorithms.ntm.spec import SPEC
from openmaker.errors import ChannelError, DataFormatError, HyperparameterError, ValidationError

from .conftest import FAST, VOCAB, Workspace, words


def _train(ws: Workspace, X: np.ndarray, content_type: str = "text/csv", **channels: object):
    chans = {"train": ws.channel("train", X, content_type), **channels}
    return ws.train(FAST, chans)  # type: ignore[arg-type]


@pytest.mark.parametrize("size", [VOCAB - 4, VOCAB + 1])
def test_vocabulary_size_must_be_feature_dim(ws: Workspace, counts: np.ndarray, size: int) -> None:
    with pytest.raises(DataFormatError) as err:
        _train(ws, counts, auxiliary=ws.vocab(words(size)))
    relation = "smaller" if size < VOCAB else "larger"
    assert f"has {size} words, {relation} than feature_dim={VOCAB}" in str(err.value)
    assert "vocab.txt" in str(err.value)


def test_vocabulary_must_be_utf8(ws: Workspace, counts: np.ndarray) -> None:
    data = "".join(f"{w}\n" for w in words()).encode()
    bad = data[:20] + b"\xff" + data[21:]
    with pytest.raises(DataFormatError, match=r"not UTF-8 at byte offset 20"):
        _train(ws, counts, auxiliary=ws.vocab(bad))


def test_auxiliary_without_vocab_txt(ws: Workspace, counts: np.ndarray) -> None:
    aux = ws.vocab(words(), name="words.txt")
    (aux.path / "other.txt").write_text("x\n")  # type: ignore[operator]
    with pytest.raises(ChannelError, match=r"vocab\.txt"):
        _train(ws, counts, auxiliary=aux)


@pytest.mark.parametrize(
    ("value", "content_type"),
    [(1.5, "text/csv"), (-2.0, "text/csv"), (0.25, "application/x-recordio-protobuf")],
)
def test_counts_must_be_non_negative_integers(
    ws: Workspace, counts: np.ndarray, value: float, content_type: str
) -> None:
    X = counts.copy()
    X[37, 5] = value
    with pytest.raises(DataFormatError) as err:
        _train(ws, X, content_type)
    text = str(err.value)
    assert "record 37" in text and "word 5" in text and repr(value) in text
    assert "non-negative integers" in text


def test_documents_without_words_are_refused(ws: Workspace, counts: np.ndarray) -> None:
    X = counts.copy()
    X[123] = 0
    with pytest.raises(DataFormatError, match="record 123: the document has no words"):
        _train(ws, X)


def test_validation_channel_is_checked_too(ws: Workspace, counts: np.ndarray) -> None:
    val = counts[:20].copy()
    val[3] = 0
    with pytest.raises(DataFormatError, match="'validation', record 3"):
        _train(ws, counts, validation=ws.channel("validation", val, "text/csv"))


def test_num_topics_above_the_vocabulary(ws: Workspace) -> None:
    with pytest.raises(HyperparameterError) as err:
        SPEC.validate_hyperparameters({**FAST, "feature_dim": 4, "num_topics": 5})
    assert err.value.parameter == "num_topics"
    assert "larger than the vocabulary size (feature_dim=4)" in str(err.value)


def test_dense_width_must_be_feature_dim(ws: Workspace, counts: np.ndarray) -> None:
    with pytest.raises(ValidationError, match="feature_dim"):
        _train(ws, counts[:, :-1])


def test_inference_refuses_negative_counts(ws: Workspace, counts: np.ndarray) -> None:
    model = ws.fit(counts, epochs=1).model()
    with pytest.raises(DataFormatError, match="negative count"):
        model.predict(b"-1" + b",0" * (VOCAB - 1), "text/csv", "application/json")
    with pytest.raises(DataFormatError, match="vocabulary has 24"):
        model.predict(b"1,2,3", "text/csv", "application/json")
