"""``openmaker quickstart``: a real data set, a real XGBoost job, metrics and predictions."""

from __future__ import annotations

import json
from pathlib import Path

import click

from openmaker.cli.render import (
    Column,
    Grid,
    console,
    escape,
    print_grid,
    say,
    say_plain,
    status_text,
)


def prepare_data(workdir: Path, seed: int = 7) -> dict[str, Path]:
    """Write the Wisconsin breast-cancer data (569 real patients, 30 features; it ships with
    scikit-learn) as SageMaker CSV: label first, no header. Returns the files written."""
    import numpy as np
    from sklearn.datasets import load_breast_cancer

    from openmaker.data import Dataset, write_dataset

    bunch = load_breast_cancer()
    X = bunch.data.astype("float32")
    y = (bunch.target == 0).astype("float32")  # 1 = malignant, the class to detect
    order = np.random.default_rng(seed).permutation(len(y))
    n_train, n_val = int(0.7 * len(y)), int(0.15 * len(y))
    parts = {
        "train": order[:n_train],
        "validation": order[n_train : n_train + n_val],
        "test": order[n_train + n_val :],
    }
    workdir.mkdir(parents=True, exist_ok=True)
    files = {}
    for name, idx in parts.items():
        path = workdir / f"{name}.csv"
        write_dataset(Dataset(X[idx], y[idx], None), str(path), "text/csv")
        files[name] = path
    features = workdir / "test-features.csv"
    write_dataset(Dataset(X[parts["test"]], None, None), str(features), "text/csv")
    files["test-features"] = features
    return files


@click.command()
@click.option(
    "--workdir",
    default="openmaker-quickstart",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Where the data set is written.",
)
@click.option("--num-round", default=60, show_default=True)
def quickstart(workdir: Path, num_round: int) -> None:
    """Train SageMaker's XGBoost on a real data set, then predict with the model."""
    import os

    import numpy as np

    from openmaker.cli.follow import follow_job
    from openmaker.data import read_dataset
    from openmaker.estimator import Estimator
    from openmaker.jobs.service import TrainingJobService
    from openmaker.serving import load_model

    os.environ.setdefault("OPENMAKER_STANDBY_SECONDS", "0")  # one job: no next one to keep warm
    console().rule("[bold]openmaker quickstart")
    files = prepare_data(workdir)
    say(
        f"Data: breast-cancer diagnosis (scikit-learn's copy of the UCI Wisconsin set), "
        f"written as SageMaker CSV to [bold]{escape(workdir)}/[/] (train / validation / test)"
    )
    est = Estimator(
        "xgboost",
        {
            "objective": "binary:logistic",
            "num_round": num_round,
            "max_depth": 4,
            "eta": 0.2,
            "eval_metric": "error,auc,logloss",  # early stopping watches the last one
            "early_stopping_rounds": 10,
        },
        base_job_name="quickstart-xgboost",
    )
    request = est.create_request(
        {"train": str(files["train"]), "validation": str(files["validation"])},
        content_type="text/csv",
    )
    service = TrainingJobService()
    record = service.create(request)
    say(f"Training job [bold]{escape(record.name)}[/] started")
    final = follow_job(service, record.name, show_logs=True)
    say(f"{escape(final.name)}: {status_text(final.status)}")
    if final.status != "Completed":
        say_plain(final.failure_reason or "", style="red")
        raise SystemExit(1)
    metrics = [
        {"metric": m.name, "value": f"{m.value:.4f}"}
        for m in sorted(final.final_metrics, key=lambda m: m.name)
    ]
    print_grid(
        Grid([Column("metric", "metric"), Column("value", "value")], metrics, "Final metrics")
    )
    say_plain(f"Model artifact: {final.model_artifacts}")

    test = read_dataset([str(files["test"])], "text/csv")
    assert test.y is not None
    model = load_model(final.model_artifacts or "", algorithm="xgboost")
    body = "\n".join(",".join(f"{v:.6g}" for v in row) for row in test.X).encode()
    response, _ = model.predict(body, "text/csv", "application/json")
    scores = np.array([p["score"] for p in json.loads(response)["predictions"]])
    accuracy = float(((scores > 0.5) == (test.y > 0.5)).mean())
    rows = [
        {
            "i": i,
            "p": f"{scores[i]:.3f}",
            "predicted": "malignant" if scores[i] > 0.5 else "benign",
            "actual": "malignant" if test.y[i] > 0.5 else "benign",
        }
        for i in range(min(8, len(scores)))
    ]
    columns = [
        Column("#", "i"),
        Column("P(malignant)", "p"),
        Column("predicted", "predicted"),
        Column("actual", "actual"),
    ]
    print_grid(Grid(columns, rows, "Predictions on held-out patients"))
    say(f"Test accuracy on {len(scores)} held-out patients: [bold]{accuracy:.3f}[/]")
    say("Try it yourself:")
    say_plain("  " + try_it_command(final.model_artifacts or "", files["test-features"]))


def try_it_command(model_uri: str, features: Path) -> str:
    """The ``openmaker predict`` command line the quickstart suggests: one line, shell-quoted,
    so that it can be pasted as it is."""
    import shlex

    return shlex.join(
        [
            "openmaker",
            "predict",
            model_uri,
            "--input",
            str(features),
            "--content-type",
            "text/csv",
            "--accept",
            "application/json",
        ]
    )
