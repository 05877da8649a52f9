"""BlazingText training: the artifacts, log lines and metrics of every mode, and bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest

from openmaker.algorithms.blazingtext.spec import SPEC
from openmaker.errors import ChannelError, DataFormatError, HyperparameterError
from openmaker.spec.metrics import format_log_line

from .conftest import labelled_lines

W2V = {"vector_dim": "16", "epochs": "2", "min_count": "2", "buckets": "20000"}
SUP = {"mode": "supervised", "vector_dim": "16", "min_count": "1", "buckets": "20000"}


def _metric(log: str, name: str) -> list[float]:
    m = SPEC.metric(name)
    return [v for line in log.splitlines() if (v := m.match(format_log_line(line))) is not None]


@pytest.mark.parametrize("mode", ["cbow", "skipgram", "batch_skipgram"])
def test_word2vec_artifacts_are_sagemakers(ws, mode):
    import fasttext
    from gensim.models import KeyedVectors

    job = ws.train({"mode": mode, **W2V}, {"train": ws.corpus_channel()})
    files = {p.name for p in job.model_dir.iterdir()}
    assert files == {"vectors.txt", "vectors.bin", "eval.json"}
    kv = KeyedVectors.load_word2vec_format(str(job.model_dir / "vectors.txt"), binary=False)
    assert kv.vector_size == 16 and "f0" in kv.key_to_index
    ft = fasttext.load_model(str(job.model_dir / "vectors.bin"))
    assert ft.get_dimension() == 16
    np.testing.assert_allclose(ft.get_word_vector("f0"), kv["f0"], rtol=1e-4, atol=1e-5)
    report = json.loads((job.model_dir / "eval.json").read_text())
    ws353 = report["EN-WS-353-ALL.txt"]
    assert ws353["total_pairs"] == 353 and ws353["not_found"] == 353  # no English words
    assert report["mean_rho"] == ws353["spearmans_rho"] == 0.0
    assert _metric(job.log, "train:mean_rho") == [0.0]
    progress = job.lines("Million Words/sec")
    assert progress and all(line.strip().endswith("#####") for line in progress)
    assert job.lines("-------------- End of epoch: 2")


def test_evaluation_false_writes_no_eval_json(ws):
    job = ws.train(
        {"mode": "batch_skipgram", "evaluation": "false", **W2V}, {"train": ws.corpus_channel()}
    )
    assert not (job.model_dir / "eval.json").exists()
    assert not job.lines("#mean_rho")


def test_mean_rho_is_spearman_on_wordsim353(ws):
    from scipy.stats import spearmanr

    from openmaker.algorithms.blazingtext.evaluation import read_pairs

    pairs = read_pairs()
    words = sorted({w for a, b, _ in pairs for w in (a, b)})
    rng = np.random.default_rng(0)
    # sentences of WordSim-353 words: the vectors then cover every pair
    corpus = "\n".join(" ".join(rng.choice(words, size=10)) for _ in range(800))
    job = ws.train(
        {"mode": "skipgram", "vector_dim": "8", "epochs": "1", "min_count": "1"},
        {"train": ws.text_channel("train", corpus)},
    )
    report = json.loads((job.model_dir / "eval.json").read_text())
    from gensim.models import KeyedVectors

    kv = KeyedVectors.load_word2vec_format(str(job.model_dir / "vectors.txt"))
    found = [(a, b, s) for a, b, s in pairs if a in kv and b in kv]
    rho = spearmanr([kv.similarity(a, b) for a, b, _ in found], [s for *_, s in found])[0]
    assert report["EN-WS-353-ALL.txt"]["not_found"] == len(pairs) - len(found) < 10
    assert report["mean_rho"] == pytest.approx(rho, abs=1e-4)
    assert _metric(job.log, "train:mean_rho") == [pytest.approx(report["mean_rho"], abs=1e-6)]


def test_skipgram_subwords_give_oov_vectors(ws):
    from openmaker.algorithms.blazingtext.model import BlazingTextModel

    job = ws.train(
        {"mode": "skipgram", "subwords": "True", "evaluation": "false", **W2V},
        {"train": ws.corpus_channel()},
    )
    model = BlazingTextModel.load(job.model_dir)
    assert any(model.word_vector("g0t0w999"))  # unseen word, built from its char n-grams
    plain = ws.train(
        {"mode": "skipgram", "evaluation": "false", **W2V}, {"train": ws.corpus_channel()}
    )
    assert not any(BlazingTextModel.load(plain.model_dir).word_vector("g0t0w999"))


def test_supervised_model_bin_is_fasttext_and_logs_accuracy(ws):
    import fasttext

    lines = labelled_lines(200)
    job = ws.train(
        {**SUP, "epochs": "10", "learning_rate": "0.5"},
        {
            "train": ws.text_channel("train", "\n".join(lines[:160]) + "\n"),
            "validation": ws.text_channel("validation", "\n".join(lines[160:]) + "\n"),
        },
    )
    assert {p.name for p in job.model_dir.iterdir()} == {"model.bin"}
    ft = fasttext.load_model(str(job.model_dir / "model.bin"))
    assert sorted(ft.get_labels()) == ["__label__neg", "__label__pos"]
    (acc,) = _metric(job.log, "validation:accuracy")
    assert acc >= 0.9
    assert job.lines("Validation accuracy: ")
    assert _metric(job.log, "train:accuracy")[0] >= 0.9


def test_early_stopping_keeps_the_best_epoch(ws):
    import fasttext

    lines = labelled_lines(200)
    hp = {**SUP, "epochs": "12", "early_stopping": "True", "min_epochs": "1", "patience": "2"}
    channels = {
        "train": ws.text_channel("train", "\n".join(lines[:160])),
        "validation": ws.text_channel("validation", "\n".join(lines[160:])),
    }
    job = ws.train({**hp, "learning_rate": "0.5"}, channels)
    accs = _metric(job.log, "validation:accuracy")
    assert 1 <= len(accs) <= 12
    best = max(accs)
    improved = job.lines("Validation accuracy improved! Storing best weights...")
    assert len(improved) >= 1
    if len(accs) < 12:  # stopped early: patience epochs without improvement at the end
        assert job.lines("Stopping the training early.")
        assert max(accs[-2:]) <= best and accs.index(best) == len(accs) - 3
    val = channels["validation"].path / "part-0"
    _, p1, _ = fasttext.load_model(str(job.model_dir / "model.bin")).test(str(val))
    assert p1 == pytest.approx(best, abs=1e-6)


def test_early_stopping_needs_validation(ws):
    with pytest.raises(ChannelError, match="validation"):
        ws.train(
            {**SUP, "early_stopping": "True"},
            {"train": ws.text_channel("train", "\n".join(labelled_lines(20)))},
        )


def test_multi_label_lines(ws):
    from openmaker.algorithms.blazingtext.model import BlazingTextModel

    lines = [f"__label__a __label__b {line.split(' ', 1)[1]}" for line in labelled_lines(60)]
    lines += [f"__label__c {' '.join(['zz', 'yy', 'xx'])}" for _ in range(30)]
    job = ws.train(
        {**SUP, "epochs": "20", "learning_rate": "0.5"},
        {"train": ws.text_channel("train", "\n".join(lines))},
    )
    model = BlazingTextModel.load(job.model_dir)
    top = model.classify("the film is great", 3)
    assert set(top["label"][:2]) == {"__label__a", "__label__b"}
    assert top["prob"] == sorted(top["prob"], reverse=True)


# --- bad input ---------------------------------------------------------------------------------


def test_corpus_that_is_not_utf8_names_the_byte_offset(ws):
    good = b"hello world\nsecond line\n"
    bad = good + b"caf\xe9 au lait\n"
    with pytest.raises(DataFormatError) as exc:
        ws.train({"mode": "batch_skipgram", **W2V}, {"train": ws.text_channel("train", bad)})
    message = str(exc.value)
    assert "not UTF-8" in message and "line 3" in message
    assert f"byte offset {len(good) + 3}" in message and "0xe9" in message


@pytest.mark.parametrize(
    ("lines", "expect"),
    [
        (["__label__a good film", "", "__label__b bad film"], ["line 2", "empty line"]),
        (["__label__a good film", "pos bad film"], ["line 2", "__label__", "prefix", "'pos'"]),
        (["__label__a good film", "__label__b"], ["line 2", "no words"]),
    ],
)
def test_bad_supervised_lines_are_refused_by_line(ws, lines, expect):
    with pytest.raises(DataFormatError) as exc:
        ws.train(SUP, {"train": ws.text_channel("train", "\n".join(lines) + "\n")})
    for fragment in expect:
        assert fragment in str(exc.value)


def test_bad_validation_lines_are_refused_too(ws):
    with pytest.raises(DataFormatError, match="line 1"):
        ws.train(
            SUP,
            {
                "train": ws.text_channel("train", "\n".join(labelled_lines(20))),
                "validation": ws.text_channel("validation", "neg no label here\n"),
            },
        )


def test_word2vec_refuses_a_validation_channel(ws):
    with pytest.raises(ChannelError, match="validation"):
        ws.train(
            {"mode": "cbow", **W2V},
            {"train": ws.corpus_channel(), "validation": ws.corpus_channel()},
        )


def test_only_batch_skipgram_runs_on_several_instances(ws):
    with pytest.raises(HyperparameterError, match="batch_skipgram") as exc:
        ws.train(
            {"mode": "skipgram", **W2V},
            {"train": ws.corpus_channel()},
            hosts=("algo-1", "algo-2"),
        )
    assert exc.value.parameter == "mode"


def test_min_count_that_leaves_no_word(ws):
    with pytest.raises(HyperparameterError, match="min_count"):
        ws.train(
            {"mode": "batch_skipgram", **W2V, "min_count": "1000"},
            {"train": ws.corpus_channel(100)},
        )


def test_augmented_manifest_pipe_mode(ws, tmp_path):
    """source / label attributes streamed as RecordIO records (what the platform writes)."""
    from openmaker.data.manifest import AugmentedSource, write_augmented_stream
    from openmaker.spec.algorithm import ChannelInput

    manifest = tmp_path / "train.manifest"
    rows = []
    for line in labelled_lines(120):
        label, text = line.split(" ", 1)
        rows.append({"source": text, "label": 1 if label.endswith("pos") else [0, 2]})
    manifest.write_text("".join(json.dumps(r) + "\n" for r in rows))
    stream = tmp_path / "pipe" / "train_0"
    write_augmented_stream(AugmentedSource(str(manifest), ("source", "label"), "RecordIO"), stream)
    channel = ChannelInput(
        name="train",
        content_type="application/x-recordio-protobuf",
        input_mode="Pipe",
        uris=(str(stream),),
    )
    job = ws.train({**SUP, "epochs": "10", "learning_rate": "0.5"}, {"train": channel})
    from openmaker.algorithms.blazingtext.model import BlazingTextModel

    model = BlazingTextModel.load(job.model_dir)
    assert set(model.ft.get_labels()) == {"__label__1", "__label__0", "__label__2"}
    assert model.classify("a wonderful brilliant film")["label"] == ["__label__1"]


def test_pipe_mode_and_gzip_input(ws, tmp_path):
    """A gzip-compressed corpus streamed in Pipe mode reads like the plain file."""
    import gzip

    from openmaker.algorithms.blazingtext.synthetic import topic_corpus

    path = tmp_path / "corpus.txt"
    topic_corpus(path, sentences=400, groups=2, topics_per_group=2, words_per_topic=8)
    hp = {"mode": "batch_skipgram", "evaluation": "false", **W2V}
    plain = ws.train(hp, {"train": ws.text_channel("train", path.read_bytes())})
    piped = ws.train(
        hp,
        {"train": ws.text_channel("train", gzip.compress(path.read_bytes()), mode="Pipe")},
    )

    def words(job):  # two workers: the same vocabulary, vectors equal up to update order
        lines = (job.model_dir / "vectors.txt").read_text().splitlines()
        return [line.split(" ", 1)[0] for line in lines]

    assert words(plain) == words(piped) and len(words(plain)) > 30
