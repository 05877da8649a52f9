"""Models, endpoint configs and endpoints in the service layer (no server)."""

from __future__ import annotations

from pathlib import Path

import pytest

from openmaker.errors import ResourceInUseError, ResourceNotFoundError, ValidationError
from openmaker.hosting.endpoint_configs import EndpointConfigService
from openmaker.hosting.endpoints import EndpointService
from openmaker.hosting.models import ModelService


def _model(name: str, uri: str) -> None:
    ModelService().create(
        {"ModelName": name, "PrimaryContainer": {"Image": "xgboost", "ModelDataUrl": uri}}
    )


def _config(name: str, *variants: tuple[str, str, float]) -> None:
    EndpointConfigService().create(
        {
            "EndpointConfigName": name,
            "ProductionVariants": [
                {"VariantName": v, "ModelName": m, "InitialVariantWeight": w}
                for v, m, w in variants
            ],
        }
    )


def test_model_lifecycle(home: Path, model_uri: str) -> None:
    _model("m1", model_uri)
    described = ModelService().describe("m1")
    assert described["ModelArn"].endswith(":model/m1")
    assert described["PrimaryContainer"]["ModelDataUrl"] == model_uri
    with pytest.raises(ResourceInUseError):
        _model("m1", model_uri)
    # The algorithm is detected from the artifact when no Image is given.
    rec = ModelService().create(
        {"ModelName": "m2", "PrimaryContainer": {"ModelDataUrl": model_uri}}
    )
    assert rec.algorithm == "xgboost"
    names = [r.name for r in ModelService().list(name_contains="M")[0]]
    assert names == ["m2", "m1"]  # newest first, case-insensitive
    page, token = ModelService().list(max_results=1, sort_by="Name", sort_order="Ascending")
    assert [r.name for r in page] == ["m1"] and token
    assert [r.name for r in ModelService().list(max_results=1, sort_by="Name",
            sort_order="Ascending", next_token=token)[0]] == ["m2"]  # fmt: skip
    ModelService().delete("m1")
    with pytest.raises(ResourceNotFoundError, match="Could not find model"):
        ModelService().describe("m1")


@pytest.mark.parametrize(
    ("request_", "match"),
    [
        ({"ModelName": "bad_name", "PrimaryContainer": {"ModelDataUrl": "x"}}, "modelName"),
        ({"ModelName": "m", "PrimaryContainer": {}}, "ModelDataUrl is required"),
        (
            {"ModelName": "m", "PrimaryContainer": {"ModelDataUrl": "/nope.tar.gz"}},
            "Could not find",
        ),
    ],
)
def test_bad_models_are_refused(home: Path, request_: dict, match: str) -> None:
    with pytest.raises(ValidationError, match=match):
        ModelService().create(request_)


def test_unknown_image_is_refused(home: Path, model_uri: str) -> None:
    with pytest.raises(ValidationError, match="does not name a built-in algorithm"):
        ModelService().create(
            {"ModelName": "m", "PrimaryContainer": {"Image": "nope", "ModelDataUrl": model_uri}}
        )


def test_bad_configs_are_refused(home: Path, model_uri: str) -> None:
    _model("m", model_uri)
    with pytest.raises(ValidationError, match="Could not find model 'ghost'"):
        _config("c", ("A", "ghost", 1.0))
    with pytest.raises(ValidationError, match="unique"):
        _config("c", ("A", "m", 1.0), ("A", "m", 1.0))
    with pytest.raises(ValidationError, match="InitialVariantWeight"):
        _config("c", ("A", "m", -1.0))
    with pytest.raises(ValidationError, match="InitialSamplingPercentage"):
        EndpointConfigService().create(
            {
                "EndpointConfigName": "c",
                "ProductionVariants": [{"VariantName": "A", "ModelName": "m"}],
                "DataCaptureConfig": {"InitialSamplingPercentage": 101, "DestinationS3Uri": "x"},
            }
        )


def test_endpoint_lifecycle_with_the_deployer_process(home: Path, model_uri: str) -> None:
    _model("m", model_uri)
    _config("c", ("A", "m", 1.0), ("B", "m", 3.0))
    service = EndpointService()
    rec = service.create({"EndpointName": "ep", "EndpointConfigName": "c"})
    assert rec.status == "Creating"
    assert service.describe("ep")["PendingDeploymentSummary"]["EndpointConfigName"] == "c"
    rec = service.wait("ep", timeout=60)
    assert rec.status == "InService", rec.failure_reason
    described = service.describe("ep")
    assert [v["CurrentWeight"] for v in described["ProductionVariants"]] == [1.0, 3.0]
    assert "PendingDeploymentSummary" not in described
    with pytest.raises(ResourceInUseError):
        service.create({"EndpointName": "ep", "EndpointConfigName": "c"})
    assert [r.name for r in service.list(status_equals="InService")[0]] == ["ep"]
    service.update_weights_and_capacities(
        "ep", [{"VariantName": "B", "DesiredWeight": 0.0, "DesiredInstanceCount": 2}]
    )
    variants = service.describe("ep")["ProductionVariants"]
    assert variants[1]["CurrentWeight"] == 0.0 and variants[1]["CurrentInstanceCount"] == 2
    with pytest.raises(ValidationError, match="does not exist"):
        service.update_weights_and_capacities("ep", [{"VariantName": "Z", "DesiredWeight": 1.0}])
    service.delete("ep")
    with pytest.raises(ResourceNotFoundError):
        service.describe("ep")


def test_broken_artifact_fails_the_endpoint(home: Path, tmp_path: Path) -> None:
    broken = tmp_path / "model.tar.gz"
    broken.write_bytes(b"not a tar file")
    _model("m", str(broken))
    _config("c", ("A", "m", 1.0))
    service = EndpointService(deploy="inline")
    rec = service.create({"EndpointName": "ep", "EndpointConfigName": "c"})
    assert rec.status == "Failed"
    assert rec.failure_reason and "not a gzip tar archive" in rec.failure_reason
    with pytest.raises(ValidationError, match="must be InService"):
        service.update("ep", "c")
    service.delete("ep")


def test_failed_update_rolls_back(home: Path, model_uri: str, tmp_path: Path) -> None:
    _model("good", model_uri)
    broken = tmp_path / "model.tar.gz"
    broken.write_bytes(b"junk")
    _model("bad", str(broken))
    _config("c1", ("A", "good", 1.0))
    _config("c2", ("A", "bad", 1.0))
    service = EndpointService(deploy="inline")
    service.create({"EndpointName": "ep", "EndpointConfigName": "c1"})
    rec = service.update("ep", "c2")
    assert rec.status == "InService" and rec.config_name == "c1"
    assert rec.failure_reason and "ClientError" in rec.failure_reason
    with pytest.raises(ValidationError, match="Could not find endpoint configuration"):
        service.update("ep", "nope")


def test_orphaned_deployment_is_settled(home: Path, model_uri: str) -> None:
    _model("m", model_uri)
    _config("c", ("A", "m", 1.0))
    service = EndpointService(deploy="inline")
    service.create({"EndpointName": "ep", "EndpointConfigName": "c"})
    service.store.endpoints.update(
        "ep", status="Updating", pending_variants=[], executor_handle="pid:1:0.0@elsewhere-host"
    )
    service.store.endpoints.update("ep", executor_handle="pid:999999:1.0@" + _host())
    assert service.recover_orphans() == ["ep"]
    rec = service.get("ep")
    assert rec.status == "InService" and "deployer process ended" in (rec.failure_reason or "")


def _host() -> str:
    import socket

    return socket.gethostname()
