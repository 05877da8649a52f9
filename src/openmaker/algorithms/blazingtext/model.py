"""BlazingText inference: word vectors or text classes from a fastText-format binary.

``BlazingTextModel.load(model_dir)`` reads ``model.bin`` (supervised, or any fastText model a
user packs as ``model.bin``, e.g. the pre-trained ``lid.176.bin``), else ``vectors.bin``
(Word2Vec), with fastText.

Requests (reference section 1.4):

* ``application/json``: ``{"instances": ["word", ...]}`` (Word2Vec) or
  ``{"instances": ["a sentence", ...], "configuration": {"k": 2}}`` (supervised; k defaults
  to 1). The answer is a JSON list, one object per instance:
  ``{"vector": [...], "word": "w"}`` (an out-of-vocabulary word gets the zero vector, or its
  char n-gram vector when the model has subwords) or
  ``{"label": ["__label__a", ...], "prob": [0.9, ...]}`` (most probable first).
* ``application/jsonlines`` (batch transform): one ``{"source": "...", "k": 2}`` object a
  line (``k`` optional; a bare JSON string is taken as the source); one answer object a line.
  The response type follows ``Accept`` (JSON: the list; JSON Lines: one object a line); without
  an Accept, a JSON Lines request is answered in JSON Lines and a JSON request in JSON. (The
  docs say batch transform needs both types to be ``application/jsonlines`` and "ignores" a
  differing Accept; UNCONFIRMED what an endpoint does, so openmaker honours Accept.)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from openmaker.algorithms.blazingtext.spec import REQUEST_CONTENT_TYPES, RESPONSE_CONTENT_TYPES
from openmaker.errors import DataFormatError, UnsupportedContentTypeError, ValidationError
from openmaker.spec.channels import ContentType, parse_content_type

MODEL_FILES = ("model.bin", "vectors.bin")


def _round(x: float) -> float:
    return float(f"{x:.6g}")


class BlazingTextModel:
    """A loaded fastText-format model.

    Attributes:
        supervised: whether it is a classifier (else it gives word vectors).
        dimension: the vector size.
    """

    def __init__(self, ft_model: Any) -> None:
        self.ft = ft_model
        self.supervised = ft_model.f.getArgs().model.name == "supervised"
        self.dimension = int(ft_model.get_dimension())

    @classmethod
    def load(cls, model_dir: str | Path) -> BlazingTextModel:
        """Load ``model.bin`` or ``vectors.bin`` from the unpacked model folder.

        Raises:
            ValidationError: neither file, or a file fastText cannot read.
        """
        from openmaker.algorithms.blazingtext.fasttext_engine import import_fasttext

        folder = Path(model_dir)
        path = next((folder / n for n in MODEL_FILES if (folder / n).is_file()), None)
        if path is None:
            raise ValidationError(
                f"No BlazingText model in {folder}: expected one of {', '.join(MODEL_FILES)}"
            )
        ft = import_fasttext()
        # fastText's load_model prints a deprecation notice on stderr for every load
        ft.FastText.eprint = lambda *args, **kwargs: None
        try:
            model = ft.load_model(str(path))
        except ValueError as exc:
            raise ValidationError(f"{path.name} is not a fastText model: {exc}") from exc
        return cls(model)

    # --- predictions --------------------------------------------------------------------------
    def word_vector(self, word: str) -> list[float]:
        """The vector of ``word`` (zeros when unknown and the model has no subwords)."""
        return [_round(x) for x in self.ft.get_word_vector(word).tolist()]

    def classify(self, text: str, k: int = 1) -> dict[str, list[Any]]:
        """The ``k`` most probable labels of a sentence and their probabilities."""
        if "\n" in text:
            text = text.replace("\n", " ")
        pairs = self.ft.f.predict(text + "\n", k, 0.0, "strict")
        return {
            "label": [label for _, label in pairs],
            "prob": [_round(min(float(p), 1.0)) for p, _ in pairs],
        }

    def _answer(self, instance: Any, k: int, where: str) -> dict[str, Any]:
        if not isinstance(instance, str):
            raise DataFormatError(f"{where}: each instance must be a string, got {instance!r}")
        if self.supervised:
            return self.classify(instance, k)
        return {"vector": self.word_vector(instance), "word": instance}

    # --- the serving interface ----------------------------------------------------------------
    def predict(self, body: bytes, content_type: str, accept: str | None) -> tuple[bytes, str]:
        """Answer one request (see the module docstring for the shapes)."""
        try:
            media, _ = parse_content_type(content_type or ContentType.JSON)
        except UnsupportedContentTypeError:
            raise UnsupportedContentTypeError(content_type, REQUEST_CONTENT_TYPES) from None
        if media not in REQUEST_CONTENT_TYPES:
            raise UnsupportedContentTypeError(content_type, REQUEST_CONTENT_TYPES)
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DataFormatError(f"request body is not UTF-8 (byte offset {exc.start})") from None
        if media == ContentType.JSONLINES:
            lines = [self._jsonline(line, n) for n, line in enumerate(text.splitlines(), 1)]
            answers = [a for a in lines if a is not None]
            out_type = _accept(accept or ContentType.JSONLINES)
        else:
            answers = self._json(text)
            out_type = _accept(accept)
        if out_type == ContentType.JSONLINES:
            return "".join(json.dumps(a) + "\n" for a in answers).encode(), out_type
        return json.dumps(answers).encode("utf-8"), ContentType.JSON

    def _json(self, text: str) -> list[dict[str, Any]]:
        try:
            payload = json.loads(text)
        except (ValueError, RecursionError) as exc:  # JSONDecodeError, or a huge integer
            raise DataFormatError(f"request body is not JSON: {exc}") from None
        if not isinstance(payload, dict) or not isinstance(payload.get("instances"), list):
            raise DataFormatError(
                'BlazingText expects {"instances": ["...", ...]} (optionally with '
                '"configuration": {"k": N})'
            )
        config = payload.get("configuration") or {}
        if not isinstance(config, dict):
            raise DataFormatError('"configuration" must be an object such as {"k": 2}')
        k = _k(config.get("k", 1), "configuration.k")
        return [self._answer(x, k, f"instances[{i}]") for i, x in enumerate(payload["instances"])]

    def _jsonline(self, line: str, number: int) -> dict[str, Any] | None:
        if not line.strip():
            return None
        try:
            obj = json.loads(line)
        except (ValueError, RecursionError):  # JSONDecodeError, or a huge integer
            raise DataFormatError("not a JSON object", line=number) from None
        if isinstance(obj, str):
            return self._answer(obj, 1, f"line {number}")
        if not isinstance(obj, dict) or "source" not in obj:
            raise DataFormatError('each line must be {"source": "...", "k": N}', line=number)
        return self._answer(obj["source"], _k(obj.get("k", 1), f"line {number}: k"), "source")


def _k(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str | float):
        raise DataFormatError(f"{where} must be a positive integer, got {value!r}")
    try:
        k = int(value)
    except ValueError:
        raise DataFormatError(f"{where} must be a positive integer, got {value!r}") from None
    if k < 1 or k != float(value):
        raise DataFormatError(f"{where} must be a positive integer, got {value!r}")
    return k


def _accept(accept: str | None) -> str:
    from openmaker.algorithms.common.inference import negotiate_accept

    media, _ = negotiate_accept(accept, RESPONSE_CONTENT_TYPES)
    return media
