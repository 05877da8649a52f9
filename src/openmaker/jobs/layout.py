"""The inside of a SageMaker training container, as a folder per job.

```
<job_dir>/
  input/config/hyperparameters.json     string -> string, as SageMaker writes it
  input/config/inputdataconfig.json     channel -> {ContentType, TrainingInputMode, ...}
  input/config/resourceconfig.json      {current_host, hosts, network_interface_name}
  input/config/openmaker-sources.json   channel -> list of source URIs (Pipe mode streams them)
  input/data/<channel>/                 File mode: the channel's files
  model/                                the algorithm writes its model here
  output/failure                        the failure reason, when the algorithm fails
  output/data/                          extra outputs (output.tar.gz)
  checkpoints/                          only with a CheckpointConfig (as in SageMaker): synced
                                        with its S3Uri; algorithms checkpoint only when it exists
  logs/algo-1.log                       everything the algorithm printed
```
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class JobLayout:
    """Paths of one job's folder."""

    root: Path

    @property
    def config_dir(self) -> Path:
        return self.root / "input" / "config"

    @property
    def data_dir(self) -> Path:
        return self.root / "input" / "data"

    @property
    def model_dir(self) -> Path:
        return self.root / "model"

    @property
    def output_dir(self) -> Path:
        return self.root / "output"

    @property
    def failure_file(self) -> Path:
        return self.output_dir / "failure"

    @property
    def checkpoint_dir(self) -> Path:
        return self.root / "checkpoints"

    @property
    def log_file(self) -> Path:
        return self.root / "logs" / "algo-1.log"

    def channel_dir(self, channel: str) -> Path:
        return self.data_dir / channel

    def create(self) -> JobLayout:
        """Create every folder."""
        for path in (
            self.config_dir,
            self.data_dir,
            self.model_dir,
            self.output_dir / "data",
            self.log_file.parent,
        ):
            path.mkdir(parents=True, exist_ok=True)
        return self

    def write_config(self, name: str, content: Any) -> None:
        """Write ``input/config/<name>.json``."""
        (self.config_dir / f"{name}.json").write_text(json.dumps(content, indent=2))

    def read_config(self, name: str, default: Any = None) -> Any:
        """Read ``input/config/<name>.json`` (``default`` when absent)."""
        path = self.config_dir / f"{name}.json"
        if not path.exists():
            return default
        return json.loads(path.read_text())

    def read_failure(self) -> str | None:
        """The failure reason the algorithm wrote, first 1024 characters (as SageMaker keeps)."""
        if not self.failure_file.exists():
            return None
        text = self.failure_file.read_text(errors="replace").strip()
        return text[:1024] or None
