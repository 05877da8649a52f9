"""BlazingText inference: SageMaker's JSON / JSON Lines shapes, OOV words, hosted fastText."""

from __future__ import annotations

import json
import tarfile

import pytest

from openmaker.algorithms.blazingtext.model import BlazingTextModel
from openmaker.errors import DataFormatError, UnsupportedContentTypeError, ValidationError

from .conftest import labelled_lines

SUP = {"mode": "supervised", "vector_dim": "8", "min_count": "1", "buckets": "20000"}


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    from .conftest import Workspace

    ws = Workspace(tmp_path_factory.mktemp("bt-models"))
    w2v = ws.train(
        {
            "mode": "batch_skipgram",
            "vector_dim": "8",
            "epochs": "1",
            "min_count": "2",
            "evaluation": "false",
        },
        {"train": ws.corpus_channel(300)},
    )
    lines = labelled_lines(200)
    sup = ws.train(
        {**SUP, "epochs": "15", "learning_rate": "0.5"},
        {"train": ws.text_channel("train", "\n".join(lines))},
    )
    return BlazingTextModel.load(w2v.model_dir), BlazingTextModel.load(sup.model_dir)


def test_word_vectors_json(models):
    w2v, _ = models
    body = json.dumps({"instances": ["f0", "never-seen-word"]}).encode()
    out, ctype = w2v.predict(body, "application/json", "application/json")
    assert ctype == "application/json"
    answer = json.loads(out)
    assert isinstance(answer, list) and [a["word"] for a in answer] == ["f0", "never-seen-word"]
    assert all(set(a) == {"vector", "word"} and len(a["vector"]) == 8 for a in answer)
    assert any(answer[0]["vector"]) and not any(answer[1]["vector"])  # OOV: zero vector


def test_classification_json_with_k(models):
    _, sup = models
    body = {"instances": ["a great superb film", "dull awful plot"], "configuration": {"k": 2}}
    out, _ = sup.predict(json.dumps(body).encode(), "application/json", None)
    answer = json.loads(out)
    assert [a["label"][0] for a in answer] == ["__label__pos", "__label__neg"]
    for a in answer:
        assert set(a) == {"label", "prob"} and len(a["label"]) == len(a["prob"]) == 2
        assert a["prob"] == sorted(a["prob"], reverse=True) and 0 < a["prob"][0] <= 1
    one = json.loads(sup.predict(b'{"instances": ["great fun"]}', "application/json", None)[0])
    assert len(one[0]["label"]) == 1  # k defaults to 1


def test_jsonlines_batch_transform(models):
    _, sup = models
    body = b'{"source": "great fun film"}\n{"source": "boring and silly", "k": 2}\n'
    out, ctype = sup.predict(body, "application/jsonlines", None)
    assert ctype == "application/jsonlines"  # no Accept: the request's own type
    rows = [json.loads(line) for line in out.decode().splitlines()]
    as_json, ctype = sup.predict(body, "application/jsonlines", "application/json")
    assert ctype == "application/json" and json.loads(as_json) == rows
    assert rows[0]["label"] == ["__label__pos"] and len(rows[1]["label"]) == 2
    w2v, _ = models
    out, _ = w2v.predict(b'{"source": "f1"}\n', "application/jsonlines", "application/jsonlines")
    assert json.loads(out)["word"] == "f1"


def test_json_request_answered_as_jsonlines(models):
    _, sup = models
    out, ctype = sup.predict(
        b'{"instances": ["great", "dull"]}', "application/json", "application/jsonlines"
    )
    assert ctype == "application/jsonlines" and len(out.decode().splitlines()) == 2


@pytest.mark.parametrize(
    ("body", "match"),
    [
        (b"not json", "not JSON"),
        (b'{"inputs": ["a"]}', "instances"),
        (b'{"instances": [1, 2]}', "string"),
        (b'{"instances": ["a"], "configuration": {"k": 0}}', "positive integer"),
        (b'{"instances": ["a"], "configuration": {"k": "x"}}', "positive integer"),
        (b"\xff\xfe", "UTF-8"),
    ],
)
def test_bad_requests_are_user_errors(models, body, match):
    _, sup = models
    with pytest.raises(DataFormatError, match=match):
        sup.predict(body, "application/json", None)


def test_unsupported_content_type(models):
    _, sup = models
    with pytest.raises(UnsupportedContentTypeError):
        sup.predict(b"a,b", "text/csv", None)


def test_hosting_a_pretrained_fasttext_model(tmp_path):
    """A model.bin trained by fastText itself, packed as model.tar.gz, is served."""
    import fasttext

    from openmaker.serving import detect_algorithm

    data = tmp_path / "train.txt"
    data.write_text("\n".join(labelled_lines(100)) + "\n")
    ft = fasttext.train_supervised(str(data), epoch=10, lr=0.5, verbose=0, thread=1, dim=8)
    ft.save_model(str(tmp_path / "model.bin"))
    with tarfile.open(tmp_path / "model.tar.gz", "w:gz") as tar:
        tar.add(tmp_path / "model.bin", arcname="model.bin")
    unpacked = tmp_path / "unpacked"
    with tarfile.open(tmp_path / "model.tar.gz") as tar:
        tar.extractall(unpacked, filter="data")
    assert detect_algorithm(unpacked) == "blazingtext"
    model = BlazingTextModel.load(unpacked)
    out = json.loads(model.predict(b'{"instances": ["superb film"]}', "application/json", None)[0])
    expected = ft.f.predict("superb film\n", 1, 0.0, "strict")[0]
    assert out[0]["label"] == [expected[1]]
    assert out[0]["prob"][0] == pytest.approx(expected[0], rel=1e-4)


def test_load_without_a_model(tmp_path):
    with pytest.raises(ValidationError, match=r"model\.bin"):
        BlazingTextModel.load(tmp_path)
    (tmp_path / "model.bin").write_bytes(b"not a fasttext model")
    with pytest.raises(ValidationError, match="fastText"):
        BlazingTextModel.load(tmp_path)
