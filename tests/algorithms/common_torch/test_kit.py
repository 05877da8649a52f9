"""The shared torch kit: optimizers by SageMaker's names, gradient rescaling and clipping,
early stopping, the epoch loop's lines, checkpoints, thread choice."""

from __future__ import annotations

import io
import math
import re
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from openmaker.algorithms.common.metric_log import MetricLog  # noqa: E402
from openmaker.algorithms.common.torch.checkpoint import Checkpointer, fingerprint  # noqa: E402
from openmaker.algorithms.common.torch.early_stopping import EarlyStopping  # noqa: E402
from openmaker.algorithms.common.torch.loop import run_epochs  # noqa: E402
from openmaker.algorithms.common.torch.optim import (  # noqa: E402
    OPTIMIZERS,
    make_optimizer,
    prepare_gradients,
    resolve_optimizer,
)
from openmaker.algorithms.common.torch.runtime import threads_for_step  # noqa: E402
from openmaker.spec.algorithm import TrainingContext  # noqa: E402


def _log(tmp_path: Path) -> tuple[MetricLog, io.StringIO]:
    out = io.StringIO()
    ctx = TrainingContext("j", tmp_path / "m", tmp_path / "o", tmp_path / "c", log=out)
    return MetricLog(ctx), out


@pytest.mark.parametrize(
    ("name", "cls", "lr"),
    [
        ("sgd", "SGD", 0.1),
        ("adam", "Adam", 0.1),
        ("adagrad", "Adagrad", 0.1),
        ("adadelta", "Adadelta", 1.0),  # MXNet's AdaDelta has no learning rate
        ("rmsprop", "RMSprop", 0.1),
        ("auto", "Adam", 0.1),
    ],
)
def test_optimizers_by_sagemaker_name(name: str, cls: str, lr: float) -> None:
    w = torch.nn.Parameter(torch.ones(3))
    opt = make_optimizer(name, [w], learning_rate=0.1, weight_decay=0.01)
    assert type(opt).__name__ == cls
    assert opt.param_groups[0]["lr"] == lr and opt.param_groups[0]["weight_decay"] == 0.01
    (w * torch.tensor([1.0, 2.0, 3.0])).sum().backward()
    opt.step()
    assert (w.detach() < 1).all()


def test_unknown_optimizer_and_auto_choice() -> None:
    assert set(OPTIMIZERS) == {"sgd", "adam", "adagrad", "adadelta", "rmsprop"}
    assert resolve_optimizer("auto", auto="sgd") == "sgd"
    with pytest.raises(ValueError, match="adamw"):
        resolve_optimizer("adamw")


def test_rescale_then_clip_each_component() -> None:
    w = torch.nn.Parameter(torch.zeros(3))
    unused = torch.nn.Parameter(torch.zeros(1))
    (w * torch.tensor([1.0, -8.0, 30.0])).sum().backward()
    prepare_gradients([w, unused], rescale=0.5, clip=2.0)
    assert w.grad.tolist() == [0.5, -2.0, 2.0] and unused.grad is None
    prepare_gradients([w], rescale=1.0, clip=math.inf)
    assert w.grad.tolist() == [0.5, -2.0, 2.0]


def test_early_stopping_rule() -> None:
    flat = EarlyStopping(tolerance=0.01, patience=2)
    for v in (10.0, 5.0, 4.99, 4.98):
        assert not flat.should_stop
        flat.update(v)
    assert flat.should_stop and flat.best_epoch == 3
    improving = EarlyStopping(tolerance=0.01, patience=2)
    for v in (10.0, 8.0, 6.0, 4.0, 2.0):
        improving.update(v)
    assert not improving.should_stop
    worse = EarlyStopping(tolerance=0.001, patience=1)
    assert worse.update(1.0) and not worse.update(1.5)
    assert worse.should_stop and worse.best == 1.0
    score = EarlyStopping(tolerance=0.01, patience=1, mode="max")
    score.update(0.5)
    score.update(0.9)
    assert not score.should_stop and score.best_epoch == 1
    restored = EarlyStopping(0.01, 2)
    restored.load_state_dict(flat.state_dict())
    assert restored.should_stop and restored.history == flat.history
    with pytest.raises(ValueError):
        EarlyStopping(0.1, 0)


def test_loop_prints_sagemaker_lines_stops_and_keeps_the_best(tmp_path: Path) -> None:
    log, out = _log(tmp_path)
    losses = [5.0, 3.0, 2.0, 2.5, 2.6, 2.7, 1.0]
    best: list[int] = []
    ckpt = Checkpointer(tmp_path / "ck", fingerprint({"a": 1}))
    result = run_epochs(
        epochs=len(losses),
        run_epoch=lambda e: {"train:loss": losses[e] + 1, "validation:loss": losses[e]},
        monitor="validation:loss",
        stopper=EarlyStopping(0.01, 2),
        log=log,
        on_best=best.append,
        checkpoint=ckpt,
        checkpoint_state=lambda: {"weights": torch.ones(2)},
    )
    text = out.getvalue()
    assert re.search(r"#quality_metric: host=algo-1, epoch=0, validation loss <loss>=5\b", text)
    assert re.search(r"#quality_metric: host=algo-1, epoch=0, train loss <loss>=6\b", text)
    assert "#progress_metric: host=algo-1, completed 14 % of epochs" in text
    assert "#early_stopping_criteria_metric: host=algo-1, epoch=4" in text
    assert result.stopped_early and result.epochs_run == 5 and best == [0, 1, 2]
    assert result.best_epoch == 2 and result.best_value == 2.0
    saved = ckpt.load()
    assert saved is not None and saved["loop"]["epoch"] == 4 and saved["weights"].sum() == 2


def test_loop_resumes_where_the_checkpoint_stopped(tmp_path: Path) -> None:
    log, _ = _log(tmp_path)
    seen: list[int] = []
    stopper = EarlyStopping(0.01, 5)
    stopper.load_state_dict({"history": [3.0, 2.0], "best_epoch": 1})
    result = run_epochs(
        epochs=4,
        run_epoch=lambda e: seen.append(e) or {"train:loss": 1.0 / (e + 1)},
        monitor="train:loss",
        stopper=stopper,
        log=log,
        on_best=lambda e: None,
        start_epoch=2,
        history=[{"train:loss": 3.0}, {"train:loss": 2.0}],
    )
    assert seen == [2, 3] and result.epochs_run == 4 and len(result.history) == 4
    with pytest.raises(KeyError, match="validation:loss"):
        run_epochs(
            epochs=1, run_epoch=lambda e: {}, monitor="validation:loss",
            stopper=EarlyStopping(0.01, 1), log=log, on_best=lambda e: None,
        )  # fmt: skip


def test_checkpoint_fingerprint_and_atomic_file(tmp_path: Path) -> None:
    a = Checkpointer(tmp_path, fingerprint({"lr": 0.1}))
    assert a.load() is None
    path = a.save({"x": torch.arange(3), "epoch": 2})
    assert path is not None and path.exists() and not list(tmp_path.glob("*.tmp"))
    assert a.load()["epoch"] == 2  # type: ignore[index]
    assert Checkpointer(tmp_path, fingerprint({"lr": 0.2})).load() is None
    path.write_bytes(b"garbage")
    assert a.load() is None
    a.save({"epoch": 3})
    a.clear()
    assert a.load() is None
    off = Checkpointer(None, "x")
    assert off.save({"epoch": 1}) is None and off.load() is None


def test_small_steps_run_on_one_thread() -> None:
    before = torch.get_num_threads()
    try:
        assert threads_for_step(1000, torch.device("cpu")) == 1
        assert torch.get_num_threads() == 1
        assert threads_for_step(1e12, torch.device("cpu")) >= 1
    finally:
        torch.set_num_threads(before)
