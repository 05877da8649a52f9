"""SageMaker's BlazingText: ``spec`` (constants), ``train``, ``model``, ``estimator``.

Importing this package imports neither fastText nor torch; :class:`BlazingTextModel` and the
estimators are loaded on first use.

Modes (reference ``text-timeseries-algorithms.md`` section 1):

* ``cbow``, ``skipgram`` (with ``subwords``, ``min_char`` / ``max_char``, ``buckets``) and
  ``supervised`` are trained by fastText 0.9.2 itself
  (:mod:`~openmaker.algorithms.blazingtext.fasttext_engine`), the engine BlazingText extends;
  ``model.bin`` / ``vectors.bin`` are fastText's own files, so they load with
  ``fasttext.load_model`` and ``fasttext predict`` and a fastText model packed as
  ``model.bin`` is served.
* ``batch_skipgram`` is written here in PyTorch
  (:mod:`~openmaker.algorithms.blazingtext.batch_skipgram`): skip-gram with negative samples
  shared by the words of a window, vectorised over many windows per step, on the GPU when there
  is one, else on every core, and over several instances (parameters averaged through the
  job's collective).

Decisions on points the reference leaves open or marks UNCONFIRMED:

* **Hyperparameters of the other family** (``window_size``... in ``supervised``,
  ``word_ngrams``... in Word2Vec) are accepted, validated and ignored: the docs do not say,
  and AWS's notebooks never send them.
* ``subwords=True`` with ``batch_skipgram`` is refused (HyperparameterError naming
  ``subwords``), as SageMaker does; ``min_char`` > ``max_char`` with subwords is refused.
* **Channels**: ``text/plain`` files, one sentence per line (gzip accepted). Word2Vec takes
  only ``train``. Supervised takes ``train`` and optional ``validation`` (required by
  ``early_stopping``). Supervised Pipe mode also reads an ``AugmentedManifestFile`` with
  ``AttributeNames: ["source", "label"]`` (content type ``application/x-recordio-protobuf``,
  what openmaker's augmented-manifest channels carry, ``RecordWrapperType: RecordIO``); a
  numeric or string label ``x`` becomes ``__label__x`` (UNCONFIRMED in SageMaker), an array
  gives several labels.
* **Bad input**: text that is not UTF-8 fails with the file, line and byte offset; in
  supervised mode an empty line, a line without a ``__label__`` token (the message says that
  labels need the prefix) or a line with labels only fails with the file and line.
* **Early stopping**: see :mod:`~openmaker.algorithms.blazingtext.fasttext_engine` (a run of
  ``e`` epochs stands for "epoch e"; the best one is kept).
* **Accuracy** (``validation:accuracy``, ``train:accuracy``) is fastText's precision at 1.
* **Evaluation**: WordSim-353 from gensim's test data (the 353-pair set only; see
  :mod:`~openmaker.algorithms.blazingtext.evaluation`); pairs with an unknown word are
  ``not_found`` and skipped.
* **Several instances**: only ``batch_skipgram`` (others fail with a HyperparameterError
  naming ``mode``), as SageMaker.
* **Determinism**: ``batch_skipgram`` and single-threaded fastText give the same bytes for the
  same data; fastText on several threads (the default on a multi-core job) does not.
* **Inference**: see :mod:`~openmaker.algorithms.blazingtext.model`. Vector components and
  probabilities are rounded to 6 significant digits in the JSON.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from openmaker.algorithms.blazingtext.estimator import (
        BlazingTextClassifier,
        BlazingTextWord2Vec,
    )
    from openmaker.algorithms.blazingtext.model import BlazingTextModel

__all__ = ["BlazingTextClassifier", "BlazingTextModel", "BlazingTextWord2Vec"]


def __getattr__(name: str) -> Any:
    if name in ("BlazingTextClassifier", "BlazingTextWord2Vec"):
        from openmaker.algorithms.blazingtext import estimator

        return getattr(estimator, name)
    if name == "BlazingTextModel":
        from openmaker.algorithms.blazingtext.model import BlazingTextModel

        return BlazingTextModel
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
