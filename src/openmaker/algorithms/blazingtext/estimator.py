"""scikit-learn adapters that run openmaker's BlazingText training in process.

* :class:`BlazingTextWord2Vec` (``mode`` cbow / skipgram / batch_skipgram):
  ``fit(sentences)`` (strings, or lists of tokens), then ``transform(words)`` gives the
  ``(n, vector_dim)`` vectors (zeros for unknown words without subwords); ``vocabulary_``,
  ``vectors_`` and ``mean_rho_`` (with ``evaluation=True``) after fitting.
* :class:`BlazingTextClassifier` (``mode=supervised``): ``fit(texts, y)`` with one label per
  text (or a list of labels for multi-label lines), ``predict``, ``predict_proba`` (columns in
  ``classes_`` order) and ``score`` (accuracy) as scikit-learn classifiers.

Both write the data as the text files a training job would read, call the same
:func:`openmaker.algorithms.blazingtext.train.train` and load the model with
:class:`~openmaker.algorithms.blazingtext.model.BlazingTextModel`. Hyperparameters are
SageMaker's names; ``training_log_`` keeps what training printed.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin

from openmaker.algorithms.blazingtext.spec import LABEL_PREFIX, SPEC, TEXT_PLAIN
from openmaker.algorithms.common.sklearn_params import SageMakerParams


def _line(sentence: Any) -> str:
    if isinstance(sentence, str):
        return " ".join(sentence.split())
    return " ".join(str(t) for t in sentence)


def _run(hp: Mapping[str, Any], files: Mapping[str, Sequence[str]]) -> tuple[Any, str, dict]:
    """Train on in-memory lines (channel -> lines); returns (model, log, eval.json or {})."""
    from openmaker.algorithms.blazingtext.model import BlazingTextModel
    from openmaker.algorithms.blazingtext.train import train
    from openmaker.spec.algorithm import ChannelInput, TrainingContext

    typed = SPEC.validate_hyperparameters(dict(hp))
    log = io.StringIO()
    with tempfile.TemporaryDirectory(prefix="openmaker-blazingtext-fit-") as tmp:
        root = Path(tmp)
        channels = {}
        for name, lines in files.items():
            folder = root / "data" / name
            folder.mkdir(parents=True)
            (folder / "part-0.txt").write_text(
                "".join(line + "\n" for line in lines), encoding="utf-8"
            )
            channels[name] = ChannelInput(name=name, content_type=TEXT_PLAIN, path=folder)
        ctx = TrainingContext(
            job_name="blazingtext-estimator",
            model_dir=root / "model",
            output_dir=root / "output",
            checkpoint_dir=root / "checkpoints",
            num_cpus=os.cpu_count() or 1,
            log=log,
        )
        for d in (ctx.model_dir, ctx.output_dir, ctx.checkpoint_dir):
            d.mkdir()
        try:
            train(typed, channels, ctx)
        finally:
            text = log.getvalue()
        evaluation = ctx.model_dir / "eval.json"
        report = json.loads(evaluation.read_text()) if evaluation.exists() else {}
        return BlazingTextModel.load(ctx.model_dir), text, report


def _check_fitted(est: Any) -> None:
    if not hasattr(est, "model_"):
        from sklearn.exceptions import NotFittedError

        raise NotFittedError(f"This {type(est).__name__} is not fitted yet; call fit first")


class BlazingTextWord2Vec(SageMakerParams, TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """Word vectors by BlazingText's Word2Vec modes.

    Args:
        **hyperparameters: SageMaker's names (``mode`` defaults to ``skipgram``).

    Attributes:
        model_: the loaded :class:`BlazingTextModel`.
        vocabulary_: the words, most frequent first.
        vectors_: their vectors, shape ``(len(vocabulary_), vector_dim)``.
        mean_rho_: Spearman's rho on WordSim-353 (``evaluation=True``), else None.
    """

    def fit(self, X: Iterable[Any], y: Any = None) -> BlazingTextWord2Vec:
        """Learn vectors from sentences (strings or token lists); ``y`` is ignored."""
        hp = {"mode": "skipgram", **self._hyperparameters}
        self.model_, self.training_log_, report = _run(hp, {"train": [_line(s) for s in X]})
        ft = self.model_.ft
        self.vocabulary_ = list(ft.words)
        self.vectors_ = np.vstack([ft.get_word_vector(w) for w in self.vocabulary_])
        self.mean_rho_ = report.get("mean_rho")
        return self

    def transform(self, X: Iterable[str]) -> np.ndarray:
        """The vector of each word, shape ``(n, vector_dim)``."""
        _check_fitted(self)
        words = list(X)
        out = np.zeros((len(words), self.model_.dimension), dtype=np.float32)
        for i, w in enumerate(words):
            out[i] = self.model_.ft.get_word_vector(str(w))
        return out


class BlazingTextClassifier(SageMakerParams, ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """Text classification by BlazingText's ``supervised`` mode.

    Args:
        **hyperparameters: SageMaker's names (``mode`` is ``supervised``).

    Attributes:
        model_: the loaded :class:`BlazingTextModel`.
        classes_: the labels seen in ``y`` (sorted).
    """

    def fit(
        self, X: Sequence[Any], y: Sequence[Any], X_val: Any = None, y_val: Any = None
    ) -> BlazingTextClassifier:
        """Train on texts ``X`` and labels ``y`` (a label, or a list of labels, per text)."""
        hp = {**self._hyperparameters, "mode": "supervised"}
        labels = [list(v) if isinstance(v, list | tuple) else [v] for v in y]
        if len(labels) != len(X):
            raise ValueError(f"X has {len(X)} texts but y has {len(labels)} labels")
        self._original = {str(v).replace(" ", "_"): v for vs in labels for v in vs}
        self.classes_ = np.asarray(sorted(self._original.values(), key=str))
        files = {"train": self._lines(X, labels)}
        if X_val is not None and y_val is not None:
            val = [list(v) if isinstance(v, list | tuple) else [v] for v in y_val]
            files["validation"] = self._lines(X_val, val)
        self.model_, self.training_log_, _ = _run(hp, files)
        return self

    @staticmethod
    def _lines(X: Sequence[Any], labels: Sequence[Sequence[Any]]) -> list[str]:
        return [
            " ".join(LABEL_PREFIX + str(v).replace(" ", "_") for v in vs) + " " + _line(x)
            for x, vs in zip(X, labels, strict=True)
        ]

    def _top(self, X: Iterable[Any], k: int) -> list[dict[str, list[Any]]]:
        _check_fitted(self)
        return [self.model_.classify(_line(x), k) for x in X]

    def predict(self, X: Iterable[Any]) -> np.ndarray:
        """The most probable label of each text."""
        top = self._top(X, 1)
        names = [t["label"][0][len(LABEL_PREFIX) :] for t in top]
        return np.asarray([self._original.get(n, n) for n in names])

    def predict_proba(self, X: Iterable[Any]) -> np.ndarray:
        """Probabilities, columns in ``classes_`` order."""
        n = len(self.classes_)
        col = {LABEL_PREFIX + str(c).replace(" ", "_"): i for i, c in enumerate(self.classes_)}
        top = self._top(X, n)
        out = np.zeros((len(top), n))
        for r, t in enumerate(top):
            for label, p in zip(t["label"], t["prob"], strict=True):
                if label in col:
                    out[r, col[label]] = p
        return out
