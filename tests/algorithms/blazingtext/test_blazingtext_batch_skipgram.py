"""batch_skipgram: quality against fastText's skip-gram, the fastText-format binary,
determinism, and training over several hosts through the job's collective."""

from __future__ import annotations

import secrets
import threading

import numpy as np
import pytest

from openmaker.algorithms.blazingtext import batch_skipgram as bsg
from openmaker.algorithms.blazingtext.evaluation import word_similarity
from openmaker.algorithms.blazingtext.synthetic import (
    neighbour_precision,
    similarity_pairs,
    topic_corpus,
)
from openmaker.distributed.collective import SingleHost

from .conftest import SMALL

SETTINGS = bsg.Settings(
    dim=24, window=4, negatives=5, epochs=3, lr=0.05, t=1e-3, min_count=2, batch_size=9
)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    path = tmp_path_factory.mktemp("bsg") / "corpus.txt"
    topic_corpus(path, sentences=3000, seed=3, **SMALL)
    return path


def _rho(lookup) -> float:
    return word_similarity(lookup, similarity_pairs(n=1500, **_shape()))["spearmans_rho"]


def _shape() -> dict[str, int]:
    return {k: SMALL[k] for k in ("groups", "topics_per_group", "words_per_topic")}


def _train(path, workers=1, s=SETTINGS):
    import torch

    vocab = bsg.build_vocabulary(bsg.count_words(path), s.min_count)
    ids, lines, read = bsg.encode(path, vocab)
    w_in, w_out, _ = bsg.train_vectors(
        ids,
        lines,
        read,
        vocab,
        s,
        lambda _line: None,
        SingleHost(),
        torch.device("cpu"),
        workers=workers,
    )
    return vocab, w_in, w_out


def test_quality_matches_fasttext_skipgram(corpus):
    import fasttext

    vocab, w_in, _ = _train(corpus, workers=2)
    index = vocab.index
    ours = _rho(lambda w: w_in[index[w]] if w in index else None)
    ft = fasttext.train_unsupervised(
        str(corpus),
        model="skipgram",
        dim=24,
        ws=4,
        neg=5,
        epoch=3,
        t=1e-3,
        minCount=2,
        minn=0,
        maxn=0,
        thread=2,
        verbose=0,
    )
    theirs = _rho(lambda w: ft.get_word_vector(w) if ft.get_word_id(w) >= 0 else None)
    assert theirs > 0.4
    assert ours >= theirs - 0.05, (ours, theirs)
    nn_ours = neighbour_precision(lambda w: w_in[index[w]] if w in index else None, **_shape())
    nn_theirs = neighbour_precision(
        lambda w: ft.get_word_vector(w) if ft.get_word_id(w) >= 0 else None, **_shape()
    )
    assert nn_ours >= nn_theirs - 0.05, (nn_ours, nn_theirs)


def test_one_worker_is_deterministic(corpus):
    _, a, _ = _train(corpus)
    _, b, _ = _train(corpus)
    assert np.array_equal(a, b)


def test_vectors_bin_is_a_fasttext_model(tmp_path, corpus):
    import fasttext

    from openmaker.algorithms.blazingtext.vectors import write_fasttext_bin

    vocab, w_in, w_out = _train(corpus)
    path = tmp_path / "vectors.bin"
    write_fasttext_bin(
        path,
        vocab.words,
        vocab.counts.tolist(),
        w_in,
        w_out,
        window_size=4,
        epochs=3,
        min_count=2,
        negative_samples=5,
        sampling_threshold=1e-3,
    )
    ft = fasttext.load_model(str(path))
    assert ft.words == vocab.words
    np.testing.assert_array_equal(ft.get_input_matrix(), w_in)
    np.testing.assert_array_equal(ft.get_output_matrix(), w_out)
    assert ft.get_word_vector(vocab.words[3]).tolist() == w_in[3].tolist()
    assert not ft.get_word_vector("unknown-word").any()
    args = ft.f.getArgs()
    assert (args.dim, args.ws, args.neg, args.model.name) == (24, 4, 5, "skipgram")


def test_window_words_per_batch_follow_batch_size():
    assert SETTINGS.contexts == 8
    narrow = bsg.Settings(8, 5, 5, 1, 0.05, 1e-4, 1, 5)
    assert narrow.contexts == 4


def test_two_hosts_train_one_model(ws, corpus):
    """InstanceCount=2: each host trains its share of the lines; algo-1 writes the model."""
    from openmaker.distributed.coordinator import Coordinator
    from openmaker.distributed.wire import ADDRESS_ENV, TOKEN_ENV

    channel = ws.text_channel("train", corpus.read_bytes())
    hp = {
        "mode": "batch_skipgram",
        "vector_dim": "24",
        "window_size": "4",
        "epochs": "3",
        "min_count": "2",
        "sampling_threshold": "0.001",
        "batch_size": "9",
        "evaluation": "false",
    }
    token = secrets.token_hex(16)
    coordinator = Coordinator(2, token).start()
    hosts = ("algo-1", "algo-2")
    jobs: dict[str, object] = {}
    errors: list[BaseException] = []

    def host(name: str) -> None:
        try:
            jobs[name] = ws.train(hp, {"train": channel}, hosts=hosts, host=name)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(ADDRESS_ENV, coordinator.address)
        mp.setenv(TOKEN_ENV, token)
        threads = [threading.Thread(target=host, args=(h,)) for h in hosts]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
    coordinator.close()
    assert not errors, errors
    leader, follower = jobs["algo-1"], jobs["algo-2"]
    assert {p.name for p in leader.model_dir.iterdir()} == {"vectors.txt", "vectors.bin"}
    assert not any(follower.model_dir.iterdir())
    assert leader.lines("host 1 of 2") and follower.lines("host 2 of 2")
    from gensim.models import KeyedVectors

    kv = KeyedVectors.load_word2vec_format(str(leader.model_dir / "vectors.txt"))
    one_host = bsg.build_vocabulary(bsg.count_words(corpus), 2)
    assert kv.index_to_key == one_host.words  # the vocabulary of the whole corpus
    rho = _rho(lambda w: kv[w] if w in kv.key_to_index else None)
    assert rho > 0.4
