"""The Python API: serializers, Predictor over a real server, deploy(), the CLI."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from click.testing import CliRunner

from openmaker.errors import PayloadTooLargeError, UnsupportedContentTypeError, ValidationError
from openmaker.predictor import (
    CSVDeserializer,
    CSVSerializer,
    JSONDeserializer,
    JSONLinesDeserializer,
    JSONLinesSerializer,
    JSONSerializer,
    NumpyDeserializer,
    NumpySerializer,
    Predictor,
    RecordIOProtobufDeserializer,
    RecordIOProtobufSerializer,
)

from .conftest import ServerProcess

ROWS = np.array([[1.0, 2.0, 3.0, 4.0], [0.0, 0.0, 0.0, 0.0]])


def test_serializers() -> None:
    assert CSVSerializer().serialize(ROWS) == b"1.0,2.0,3.0,4.0\n0.0,0.0,0.0,0.0"
    assert CSVSerializer().serialize([1, 2]) == b"1,2"
    assert json.loads(JSONSerializer().serialize(ROWS)) == ROWS.tolist()
    assert JSONLinesSerializer().serialize([{"a": 1}, {"a": 2}]) == b'{"a": 1}\n{"a": 2}'
    assert np.load(__import__("io").BytesIO(NumpySerializer().serialize(ROWS))).shape == (2, 4)
    from openmaker.data import read_records

    assert len(list(read_records(RecordIOProtobufSerializer().serialize(ROWS)))) == 2
    assert CSVDeserializer().deserialize(b"1,2\n3,4\n", "text/csv") == [["1", "2"], ["3", "4"]]
    assert JSONLinesDeserializer().deserialize(b'{"a":1}\n{"a":2}\n', "") == [{"a": 1}, {"a": 2}]
    assert NumpyDeserializer().deserialize(b"0.5\n1.5", "text/csv").tolist() == [0.5, 1.5]


def test_predictor_against_a_server(server: ServerProcess, model_uri: str) -> None:
    from openmaker.hosting.api import Model

    predictor = Model(model_uri, "xgboost", name="pm").deploy(url=server.url, endpoint_name="pe")
    try:
        assert predictor.predict(ROWS).shape == (2,)
        predictor.deserializer = JSONDeserializer()
        assert len(predictor.predict(ROWS)["predictions"]) == 2
        pairs = [(JSONSerializer(), JSONDeserializer()),
                 (JSONLinesSerializer(), JSONLinesDeserializer()),
                 (NumpySerializer(), NumpyDeserializer(accept="text/csv")),
                 (RecordIOProtobufSerializer(), RecordIOProtobufDeserializer())]  # fmt: skip
        for ser, de in pairs:
            p = Predictor("pe", ser, de, url=server.url)
            data = [{"features": r.tolist()} for r in ROWS] if ser.content_type.endswith(
                "jsonlines") else ROWS  # fmt: skip
            assert len(p.predict(data)) in (1, 2)
        with pytest.raises(UnsupportedContentTypeError, match="supported"):
            predictor.invoke(b"1,2,3,4", content_type="image/png")
        with pytest.raises(PayloadTooLargeError):
            predictor.invoke(b"1" * (7 * 1024 * 1024), content_type="text/csv")
        with pytest.raises(ValidationError, match="not found"):
            Predictor("ghost", url=server.url).predict(ROWS)
    finally:
        predictor.delete_endpoint()
        predictor.delete_model()
        predictor.close()


def test_estimator_deploy_and_transformer(server: ServerProcess, model_uri: str,
                                          tmp_path: Path) -> None:  # fmt: skip
    from openmaker import Estimator

    est = Estimator("xgboost", {"num_round": 2})
    est.latest_training_job = SimpleNamespace(model_data=model_uri)  # as after fit()
    predictor = est.deploy(url=server.url)
    assert predictor.predict(ROWS[:1]).shape == (1,)
    src = tmp_path / "in.csv"
    src.write_text("1,2,3,4\n0,0,0,0\n")
    transformer = est.transformer(assemble_with="Line", output_path=str(tmp_path / "out"))
    transformer.transform(str(src), split_type="Line")
    assert len((tmp_path / "out" / "in.csv.out").read_text().splitlines()) == 2


def test_cli(server: ServerProcess, model_uri: str, tmp_path: Path) -> None:
    from openmaker.cli.main import cli

    runner = CliRunner()

    def run(*args: str) -> str:
        result = runner.invoke(cli, list(args), catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    run("models", "create", "clim", "--model-data", model_uri, "--image", "xgboost")
    assert "clim" in run("models", "list")
    assert json.loads(run("models", "describe", "clim"))["ModelName"] == "clim"
    run("endpoint-configs", "create", "clic", "--variant", "model=clim,name=V1,weight=2")
    run("endpoints", "create", "clie", "--config", "clic")
    assert "InService" in run("endpoints", "list")
    body = tmp_path / "body.csv"
    body.write_text("1,2,3,4\n")
    out = run("invoke", "clie", "--body", str(body), "--content-type", "text/csv",
              "--accept", "application/json", "--url", server.url)  # fmt: skip
    assert "predictions" in out
    run("endpoints", "update", "clie", "--config", "clic")
    assert json.loads(run("endpoints", "describe", "clie"))["EndpointStatus"] == "InService"
    run("transform", "start", "clit", "--model", "clim", "--input", str(body),
        "--output", str(tmp_path / "tout"))  # fmt: skip
    assert "Completed" in run("transform", "describe", "clit")
    run("endpoints", "delete", "clie")
    run("endpoint-configs", "delete", "clic")
    run("models", "delete", "clim")


def test_background_server(home: Path, model_uri: str) -> None:
    from openmaker.hosting.server import (
        background_server_url,
        start_background_server,
        stop_background_server,
    )

    try:
        url = start_background_server()
        assert start_background_server() == url  # reused
        assert background_server_url() == url
    finally:
        assert stop_background_server() is True
    assert background_server_url() is None


def test_predict_async_and_the_cli(server: ServerProcess, model_uri: str, tmp_path: Path) -> None:
    from openmaker.cli.main import cli
    from openmaker.hosting.api import AsyncInferenceConfig, Model
    from openmaker.predictor import (
        AsyncInferenceResponse,
        AsyncResultNotReadyError,
        WaiterConfig,
    )

    config = AsyncInferenceConfig(output_path=str(tmp_path / "out"),
                                  failure_path=str(tmp_path / "failed"))  # fmt: skip
    predictor = Model(model_uri, "xgboost", name="am").deploy(
        url=server.url, endpoint_name="ae", async_inference_config=config
    )
    sync_only = Model(model_uri, "xgboost", name="sm").deploy(url=server.url, endpoint_name="se")
    try:
        expected = predictor.predict(ROWS)
        response = predictor.predict_async(ROWS)
        assert response.output_path.startswith(str(tmp_path / "out"))
        np.testing.assert_allclose(response.get_result(timeout=60), expected)
        assert response.done()
        (tmp_path / "in.csv").write_bytes(CSVSerializer().serialize(ROWS))
        by_path = predictor.predict_async(input_path=str(tmp_path / "in.csv"), inference_id="p1")
        assert by_path.inference_id == "p1"
        np.testing.assert_allclose(by_path.get_result(WaiterConfig(300, 0.2)), expected)
        many = np.tile(ROWS, (4000, 1))  # over the 128,000-byte inline limit: uploaded first
        assert predictor.predict_async(many).get_result(timeout=60).shape == (8000,)

        failing = predictor.predict_async(ROWS[:, :2])  # 2 features for a 4-feature model
        with pytest.raises(ValidationError, match="expects 4 features"):
            failing.get_result(timeout=60)
        assert failing.done() and not Path(failing.output_path).exists()
        with pytest.raises(AsyncResultNotReadyError, match="not at"):
            AsyncInferenceResponse(predictor, str(tmp_path / "x"), str(tmp_path / "y"),
                                   "i").get_result(WaiterConfig(2, 0.01))  # fmt: skip
        with pytest.raises(ValidationError, match="either data or input_path"):
            predictor.predict_async()
        with pytest.raises(ValidationError, match="not configured for asynchronous"):
            sync_only.predict_async(ROWS)

        runner = CliRunner()
        queued = runner.invoke(cli, ["invoke", "ae", "--async", "--input-location",
                                     str(tmp_path / "in.csv"), "--url", server.url])  # fmt: skip
        assert queued.exit_code == 0, queued.output
        answer = json.loads(queued.stdout)
        assert set(answer) == {"InferenceId", "OutputLocation", "FailureLocation"}
        waited = runner.invoke(cli, ["invoke", "ae", "--async", "--body", str(tmp_path / "in.csv"),
                                     "--wait", "60", "--output", str(tmp_path / "result.csv"),
                                     "--url", server.url])  # fmt: skip
        assert waited.exit_code == 0, waited.output
        np.testing.assert_allclose(np.loadtxt(tmp_path / "result.csv"), expected)
        refused = runner.invoke(cli, ["invoke", "ae", "--async", "--url", server.url])
        assert isinstance(refused.exception, ValidationError)
        assert "--input-location or --body" in str(refused.exception)
    finally:
        for p in (predictor, sync_only):
            p.delete_endpoint()
            p.delete_model()
            p.close()
