"""Training for SageMaker's LDA (reference section 6).

``train(hyperparameters, channels, context)`` streams the ``train`` channel
``3 + POWER_ITERATIONS`` times (File or Pipe mode alike, through ``openmaker.data``: memory is
O(V k + k³), it does not grow with the number of documents), fits the topics by the spectral
method (:mod:`openmaker.algorithms.lda.solve`), then, only when the internal
hyperparameter ``_em_passes`` (an openmaker extension, default 0) asks for it, refines the
topics by that many variational-EM passes (:mod:`openmaker.algorithms.lda.refine`), writes
``model_algo-1`` and, with a ``test`` channel, scores it:

``#quality_metric: host=algo-1, test pwll <score>=...`` (per-word log-likelihood, see
:mod:`openmaker.algorithms.lda.inference`) and ``#test_score (algo-1) : ('pwll', ...)``.

``model_algo-1`` (``save_model_arrays``): ``alpha`` (k, float32: the Dirichlet prior) and
``beta`` (k x V, float32: one topic-word distribution a row), as SageMaker's
``alpha, beta = mx.ndarray.load(fname)``; the metadata holds the settings and the fit's
diagnostics.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
import scipy.sparse as sp

from openmaker.algorithms.common import MetricLog, save_model_arrays
from openmaker.algorithms.lda.inference import log_likelihood_sums, topic_mixtures
from openmaker.algorithms.lda.inputs import count_batches, read_rows
from openmaker.algorithms.lda.refine import em_step
from openmaker.algorithms.lda.solve import LDAResult, fit_spectral
from openmaker.errors import ChannelError, ValidationError
from openmaker.spec.algorithm import ChannelInput, TrainingContext


def per_word_log_likelihood(
    alpha: np.ndarray, beta: np.ndarray, batches: Iterator[sp.csr_matrix]
) -> tuple[float, int, float]:
    """``(pwll, documents, words)`` of the documents in ``batches``."""
    total = words = 0.0
    docs = 0
    for C in batches:
        theta = topic_mixtures(C, beta, alpha)
        ll, n = log_likelihood_sums(C, beta, theta)
        total += ll
        words += n
        docs += int(C.shape[0])
    return (total / words if words else float("nan")), docs, words


def save(result: LDAResult, hyperparameters: Mapping[str, Any], model_dir: Any) -> None:
    """Write ``model_algo-1``."""
    meta = {
        "algorithm": "lda",
        "num_topics": int(result.beta.shape[0]),
        "feature_dim": int(result.beta.shape[1]),
        "alpha0": float(hyperparameters.get("alpha0", 1.0)),
        "method": "spectral" if not result.info.get("em_passes") else "spectral+em",
        **result.info,
    }
    arrays = {"alpha": result.alpha.astype(np.float32), "beta": result.beta.astype(np.float32)}
    save_model_arrays(model_dir, arrays, meta)


def train(
    hyperparameters: dict[str, Any],
    channels: Mapping[str, ChannelInput],
    context: TrainingContext,
) -> None:
    """Train LDA and write ``model_algo-1`` into ``context.model_dir``.

    Args:
        hyperparameters: validated, typed hyperparameters (``SPEC.validate_hyperparameters``).
        channels: ``train`` (required) and optionally ``test``.
        context: the job's directories and log.

    Raises:
        ChannelError: no ``train`` channel.
        ValidationError: several hosts (LDA trains on one instance), or dense data whose
            width is not ``feature_dim``.
        DataFormatError: non-integer / negative counts, empty documents, malformed data.
    """
    if "train" not in channels:
        raise ChannelError("LDA needs a 'train' channel", channel="train")
    if len(context.hosts) > 1:
        raise ValidationError(
            f"LDA trains on a single instance only (SageMaker's LDA is not parallelizable); "
            f"the job has {len(context.hosts)} hosts: set InstanceCount to 1"
        )
    log = MetricLog(context)
    hp = hyperparameters
    V, k = int(hp["feature_dim"]), int(hp["num_topics"])
    rows = read_rows(int(hp["mini_batch_size"]), V)
    log.info(f"Final configuration: {json.dumps(dict(hp), sort_keys=True, default=str)}")
    train_channel = channels["train"]

    def passes() -> Iterator[sp.csr_matrix]:
        return count_batches(train_channel, rows, V)

    start = time.perf_counter()
    result = fit_spectral(
        passes,
        V,
        k,
        alpha0=float(hp.get("alpha0", 1.0)),
        max_restarts=int(hp.get("max_restarts", 10)),
        max_iterations=int(hp.get("max_iterations", 1000)),
        tol=float(hp.get("tol", 1e-8)),
    )
    em_passes = int(hp.get("_em_passes", 0))
    for _ in range(em_passes):
        result.beta = em_step(passes(), result.beta, result.alpha)
    result.info["passes"] += em_passes
    result.info["em_passes"] = em_passes
    elapsed = max(time.perf_counter() - start, 1e-9)
    info = result.info
    for message in result.warnings:
        log.warning(message)
    log.progress(100.0)
    log.throughput(info["passes"] * info["num_documents"] / elapsed)
    log.info(
        f"trained on {info['num_documents']} documents ({info['num_words']:.0f} words) in "
        f"{elapsed:.3f} s: {info['passes']} passes, {info['power_iterations']} tensor power "
        f"iterations, {info['als_sweeps']} ALS sweeps, {em_passes} EM refinement passes"
    )
    log.info("alpha: " + ", ".join(f"{a:.6g}" for a in result.alpha))
    save(result, hp, context.model_dir)
    log.info("Saved model_algo-1")

    if "test" in channels:
        pwll, docs, words = per_word_log_likelihood(
            result.alpha, result.beta, count_batches(channels["test"], rows, V)
        )
        log.info(f"test channel: {docs} documents, {words:.0f} words")
        log.quality("test", "pwll", pwll, "score")
        log.final_score("test", "pwll", pwll)
