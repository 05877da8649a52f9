"""Bad training input fails the job with an error naming the file, line (series) and field."""

from __future__ import annotations

import pytest

from openmaker.errors import DataFormatError, ValidationError

from .conftest import FAST, Workspace, seasonal_series


@pytest.fixture
def ws(tmp_path):
    return Workspace(tmp_path)


def _train(ws, records, **hp):
    return ws.train({**FAST, **hp}, {"train": ws.records("train", records)})


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"start": "2021-13-45 99:00:00"}, "line 3: field 'start'"),
        ({"start": None}, "line 3: field 'start': missing"),
        ({"target": "1,2,3"}, "line 3: field 'target': expected a list of numbers"),
        ({"target": [1.0, {"v": 2}]}, "line 3: field 'target': item 1"),
        ({"target": [1.0, True]}, "line 3: field 'target': item 1 is True"),
        ({"dynamic_feat": [[1.0, None] + [0.0] * 98]}, "field 'dynamic_feat[0]': item 1 is"),
        ({"cat": [-1]}, "field 'cat'"),
        ({"cat": [0.5]}, "field 'cat'"),
    ],
)
def test_bad_fields_name_file_line_and_field(ws, bad, message):
    records = seasonal_series(6, 100)
    records[2] = {**records[2], **bad}
    with pytest.raises(DataFormatError) as err:
        _train(ws, records)
    assert message in str(err.value)
    assert "data.json" in str(err.value)


def test_nan_in_dynamic_feat_is_refused(ws):
    records = seasonal_series(6, 100, dyn=True)
    records[4]["dynamic_feat"][0][7] = "NaN"
    with pytest.raises(
        DataFormatError, match=r"line 5: field 'dynamic_feat\[0\]': item 7 is missing"
    ):
        _train(ws, records)


def test_inconsistent_cat_counts(ws):
    records = seasonal_series(6, 100, cat=True)
    records[3]["cat"] = [0, 1]
    with pytest.raises(DataFormatError, match="line 4: field 'cat': 2 values, but line 1 has 1"):
        _train(ws, records)


def test_inconsistent_dynamic_feat_counts(ws):
    records = seasonal_series(6, 100, dyn=True)
    records[1]["dynamic_feat"] = records[1]["dynamic_feat"] * 2
    with pytest.raises(DataFormatError, match="line 2: field 'dynamic_feat': 2 features"):
        _train(ws, records)


def test_dynamic_feat_of_the_wrong_length(ws):
    records = seasonal_series(6, 100, dyn=True)
    records[0]["dynamic_feat"] = [records[0]["dynamic_feat"][0][:50]]
    with pytest.raises(DataFormatError, match="expected 100 or 106"):
        _train(ws, records)


def test_dynamic_feat_may_reach_past_the_target(ws):
    records = seasonal_series(6, 100, dyn=True)
    for r in records:
        r["dynamic_feat"] = [r["dynamic_feat"][0] + [0.0] * 6]
    assert _train(ws, records).model().meta["num_dynamic_feat"] == 1


def test_prediction_length_longer_than_every_series(ws):
    with pytest.raises(DataFormatError, match="prediction_length=200 is not shorter than any"):
        _train(ws, seasonal_series(6, 100), prediction_length="200")


def test_fewer_than_300_observations(ws):
    with pytest.raises(DataFormatError, match="needs at least 300"):
        _train(ws, seasonal_series(2, 100))


def test_not_json(ws):
    records = [*map(__import__("json").dumps, seasonal_series(4, 100)), "{not json"]
    with pytest.raises(DataFormatError, match=r"data\.json, line 5"):
        _train(ws, records)


def test_cardinality_that_disagrees_with_the_data(ws):
    records = seasonal_series(6, 100, cat=True)
    with pytest.raises(ValidationError, match="cardinality"):
        _train(ws, records, cardinality="[2, 3]")
    with pytest.raises(DataFormatError, match="value 1 of feature 0 is not below its cardinality"):
        _train(ws, records, cardinality="[1]")


def test_num_dynamic_feat_that_disagrees_with_the_data(ws):
    with pytest.raises(ValidationError, match="num_dynamic_feat"):
        _train(ws, seasonal_series(6, 100), num_dynamic_feat="2")


def test_likelihood_domains(ws):
    with pytest.raises(DataFormatError, match="'beta' needs values in \\[0, 1\\]"):
        _train(ws, seasonal_series(6, 100), likelihood="beta")
    negative = seasonal_series(6, 100)
    negative[0]["target"][3] = -2.0
    with pytest.raises(DataFormatError, match="'negative-binomial' needs counts"):
        _train(ws, negative, likelihood="negative-binomial")


def test_empty_channel(ws):
    with pytest.raises(DataFormatError, match="no time series"):
        _train(ws, [])
