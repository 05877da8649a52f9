"""IP Insights: AUC at separating planted anomalous logins, openmaker vs a frequency baseline.

Usage::

    .venv/bin/python benchmarks/bench_ipinsights.py [--users 5000] [--logins 40] [--epochs 5]
        [--vector-dim 128] [--mini-batch-size 1000] [--learning-rate 0.01] [--seed 0]

Data (seeded generator of login logs, ``entity,IPv4`` CSV as SageMaker takes it):

* organisations (Zipf-like sizes, about 10 users each on average) have 4 office sites, each a
  /24 subnet in its own /16; every user belongs to one organisation and has a home /24 in one
  of the 4 /16 blocks of one of 40 ISPs;
* a login comes from an office with probability 0.6 (each user prefers some sites: the
  preference is Dirichlet(0.3), so many users never use some of their organisation's sites in
  training) and from home otherwise; the host octet is uniform; 2 % of training logins come
  from uniformly random addresses (travel, VPNs: noise);
* logins per user are lognormal (sigma 1) with mean ``--logins``; the test set holds fresh
  logins from the same process ("normal"; there 30 % of home logins come from a new /24 of the
  user's ISP: address churn) and two kinds of planted anomalies, as many as normal logins:
  ``random``: the user with a uniformly random address; ``other``: the user with an address of
  another organisation's office or of another user's home (stolen credentials used from a real
  residential or corporate network).

Models, trained on the same training CSV:

* openmaker IP Insights: ``train()`` in process on the CSV channel in File mode (as a job runs
  it), ``num_entity_vectors`` = 2 x users, the hyperparameters above; score = ``dot_product``.
* baseline: per-entity frequency of the login's /24 prefix in training, with a /16 back-off
  (score = count(user, /24) + 0.01 x count(user, /16)), built with a pandas group-by.

It prints AUC(normal vs anomalous) for both anomaly kinds and both models, the training time
and throughput (pairs x epochs / s for IP Insights; pairs / s for the baseline).
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np


def ip_text(ips: np.ndarray) -> list[str]:
    """Dotted-decimal text of uint32 addresses."""
    o = [(ips >> s) & 255 for s in (24, 16, 8, 0)]
    return [f"{a}.{b}.{c}.{d}" for a, b, c, d in zip(*(x.tolist() for x in o), strict=True)]


class LoginWorld:
    """The seeded generator (see the module docstring)."""

    def __init__(self, users: int, mean_logins: float, seed: int) -> None:
        rng = np.random.default_rng(seed)
        self.rng = rng
        self.users = users
        n_orgs = max(2, users // 10)
        org_size = rng.zipf(1.6, size=n_orgs).clip(1, 200).astype(float)
        self.org = rng.choice(n_orgs, size=users, p=org_size / org_size.sum())
        # 4 office sites per organisation, each a /24 in its own /16
        self.offices = rng.integers(1 << 16, 224 << 16, size=(n_orgs, 4))
        # ISPs own 4 /16 blocks each; a home is a /24 in one of its ISP's blocks
        n_isps = 40
        self.isp_blocks = rng.integers(1 << 8, 224 << 8, size=(n_isps, 4))
        self.isp = rng.integers(0, n_isps, size=users)
        self.home = self._isp_subnet(self.isp)
        self.office_pref = rng.dirichlet(np.full(4, 0.3), size=users)
        sigma = 1.0
        mu = np.log(mean_logins) - sigma**2 / 2
        self.activity = np.maximum(1, rng.lognormal(mu, sigma, size=users).round()).astype(int)

    def _isp_subnet(self, isps: np.ndarray) -> np.ndarray:
        block = self.isp_blocks[isps, self.rng.integers(0, 4, size=len(isps))]
        return (block << 8) | self.rng.integers(0, 256, size=len(isps))

    def _subnet_of(self, users: np.ndarray, churn: float) -> np.ndarray:
        rng = self.rng
        at_office = rng.random(len(users)) < 0.6
        cum = self.office_pref[users].cumsum(axis=1)
        which = (rng.random(len(users))[:, None] > cum).sum(axis=1).clip(0, 3)
        office = self.offices[self.org[users], which]
        home = self.home[users].copy()
        moved = rng.random(len(users)) < churn  # the ISP gave the home a new address
        home[moved] = self._isp_subnet(self.isp[users[moved]])
        return np.where(at_office, office, home)

    def logins(self, users: np.ndarray, noise: float = 0.0, churn: float = 0.0) -> np.ndarray:
        """uint32 addresses of logins by ``users``."""
        rng = self.rng
        ips = (self._subnet_of(users, churn) << 8) | rng.integers(1, 255, size=len(users))
        noisy = rng.random(len(users)) < noise
        ips[noisy] = rng.integers(0, 1 << 32, size=int(noisy.sum()))
        return ips.astype(np.uint32)

    def train_set(self) -> tuple[np.ndarray, np.ndarray]:
        users = np.repeat(np.arange(self.users), self.activity)
        self.rng.shuffle(users)
        return users, self.logins(users, noise=0.02)

    def test_sets(self, n: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        rng = self.rng
        weights = self.activity / self.activity.sum()
        normal_users = rng.choice(self.users, size=n, p=weights)
        odd_users = rng.choice(self.users, size=n, p=weights)
        random_ips = rng.integers(0, 1 << 32, size=n).astype(np.uint32)
        # someone else's network: another organisation's office or another user's home
        others = rng.integers(0, self.users, size=n)
        clash = np.ones(n, dtype=bool)
        other_ips = np.zeros(n, dtype=np.uint32)
        while clash.any():  # keep "other" foreign to the user's organisation and home
            others[clash] = rng.integers(0, self.users, size=int(clash.sum()))
            other_ips[clash] = self.logins(others[clash])
            clash = (self.org[others] == self.org[odd_users]) | (others == odd_users)
        return {
            "normal": (normal_users, self.logins(normal_users, churn=0.3)),
            "random": (odd_users, random_ips),
            "other": (odd_users, other_ips),
        }


def write_csv(path: Path, users: np.ndarray, ips: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"user{u},{ip}\n" for u, ip in zip(users, ip_text(ips), strict=True)))


def auc(positive: np.ndarray, negative: np.ndarray) -> float:
    from openmaker.algorithms.ip_insights.trainer import roc_auc

    return roc_auc(np.asarray(positive, float), np.asarray(negative, float))


def run_ipinsights(args: argparse.Namespace, train_dir: Path, n_users: int) -> tuple[object, float]:
    from openmaker.algorithms.ip_insights.model import IPInsightsModel
    from openmaker.algorithms.ip_insights.spec import SPEC
    from openmaker.algorithms.ip_insights.train import train
    from openmaker.spec.algorithm import ChannelInput, TrainingContext

    hp = SPEC.validate_hyperparameters(
        {
            "num_entity_vectors": str(2 * n_users),
            "vector_dim": str(args.vector_dim),
            "epochs": str(args.epochs),
            "mini_batch_size": str(args.mini_batch_size),
            "learning_rate": str(args.learning_rate),
            "num_ip_encoder_layers": str(args.layers),
            "random_negative_sampling_rate": str(args.random_rate),
            "shuffled_negative_sampling_rate": str(args.shuffled_rate),
        }
    )
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        ctx = TrainingContext(
            job_name="bench",
            model_dir=root / "model",
            output_dir=root / "output",
            checkpoint_dir=root / "checkpoints",
            log=io.StringIO(),
        )
        ctx.model_dir.mkdir()
        channel = ChannelInput("train", "text/csv", path=train_dir)
        start, cpu = time.perf_counter(), time.process_time()
        train(hp, {"train": channel}, ctx)
        seconds = time.perf_counter() - start
        print(f"IP Insights training: {seconds:.2f} s wall, {time.process_time() - cpu:.2f} s CPU")
        model = IPInsightsModel.load(ctx.model_dir)
    return model, seconds


def baseline_scores(train_users, train_ips, users, ips) -> tuple[np.ndarray, float]:
    """Per-user /24 frequency with a /16 back-off; returns (scores, build seconds)."""
    import pandas as pd

    start = time.perf_counter()
    df = pd.DataFrame({"u": train_users, "p24": train_ips >> 8, "p16": train_ips >> 16})
    c24 = df.groupby(["u", "p24"]).size()
    c16 = df.groupby(["u", "p16"]).size()
    seconds = time.perf_counter() - start
    q = pd.DataFrame({"u": users, "p24": ips >> 8, "p16": ips >> 16})
    s24 = c24.reindex(pd.MultiIndex.from_frame(q[["u", "p24"]])).fillna(0).to_numpy()
    s16 = c16.reindex(pd.MultiIndex.from_frame(q[["u", "p16"]])).fillna(0).to_numpy()
    return s24 + 0.01 * s16, seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--users", type=int, default=5000)
    ap.add_argument("--logins", type=float, default=40.0, help="mean logins per user")
    ap.add_argument("--test", type=int, default=20000, help="normal test logins")
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--vector-dim", type=int, default=128)
    ap.add_argument("--mini-batch-size", type=int, default=1000)
    ap.add_argument("--learning-rate", type=float, default=0.01)
    ap.add_argument("--layers", type=int, default=1, help="num_ip_encoder_layers")
    ap.add_argument("--random-rate", type=int, default=1)
    ap.add_argument("--shuffled-rate", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    world = LoginWorld(args.users, args.logins, args.seed)
    train_users, train_ips = world.train_set()
    tests = world.test_sets(args.test)
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}; {len(train_users)} training logins of {args.users} users, "
        f"{args.test} normal + {args.test} x 2 anomalous test logins"
    )
    with tempfile.TemporaryDirectory() as tmp:
        train_dir = Path(tmp) / "train"
        write_csv(train_dir / "logins.csv", train_users, train_ips)
        model, seconds = run_ipinsights(args, train_dir, args.users)

    def ipi(kind: str) -> np.ndarray:
        users, ips = tests[kind]
        return model.dot_products([f"user{u}" for u in users], ips)  # type: ignore[attr-defined]

    def base(kind: str) -> tuple[np.ndarray, float]:
        users, ips = tests[kind]
        return baseline_scores(train_users, train_ips, users, ips)

    ipi_normal = ipi("normal")
    base_normal, base_seconds = base("normal")
    pairs = len(train_users)
    print(
        f"\nIP Insights: vector_dim {args.vector_dim}, {args.epochs} epochs, mini_batch_size "
        f"{args.mini_batch_size}, learning_rate {args.learning_rate}, "
        f"num_ip_encoder_layers {args.layers}, R={args.random_rate}, S={args.shuffled_rate}"
    )
    odd_ipi = {kind: ipi(kind) for kind in ("random", "other")}
    odd_base = {kind: base(kind)[0] for kind in ("random", "other")}
    print(f"{'anomalies':<10} {'IP Insights AUC':>16} {'baseline AUC':>13} {'ratio':>7}")
    for kind in ("random", "other"):
        a_ipi = auc(ipi_normal, odd_ipi[kind])
        a_base = auc(base_normal, odd_base[kind])
        print(f"{kind:<10} {a_ipi:>16.4f} {a_base:>13.4f} {a_ipi / a_base:>7.3f}")

    # where the errors are: normal logins by whether the user was seen on that /24 in training
    users, ips = tests["normal"]
    seen_keys = np.unique(train_users.astype(np.int64) << 24 | (train_ips >> 8))
    seen = np.isin(users.astype(np.int64) << 24 | (ips >> 8), seen_keys)
    office = (world.offices[world.org[users]] == (ips >> 8)[:, None]).any(axis=1)
    groups = {"seen /24": seen, "new office site": ~seen & office, "new home /24": ~seen & ~office}
    print(
        "\nAUC by kind of normal login (share), IP Insights vs baseline, anomalies random / other:"
    )
    for name, mask in groups.items():
        cells = [
            f"{auc(ipi_normal[mask], odd_ipi[k]):.4f} vs {auc(base_normal[mask], odd_base[k]):.4f}"
            for k in ("random", "other")
        ]
        print(f"  {name:<16} ({mask.mean():6.1%}): " + " / ".join(cells))
    print(
        f"\ntraining: IP Insights {seconds:.2f} s ({pairs * args.epochs / seconds:,.0f} pairs/s "
        f"over {args.epochs} epochs); baseline {base_seconds:.3f} s "
        f"({pairs / base_seconds:,.0f} pairs/s, one pass)"
    )


if __name__ == "__main__":
    main()
