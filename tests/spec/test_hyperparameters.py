from __future__ import annotations

import pytest

from openmaker.errors import HyperparameterError
from openmaker.spec.hyperparameters import (
    Boolean,
    Categorical,
    Continuous,
    Integer,
    Interval,
    ListOf,
    OneOf,
    Text,
    describe_table,
    validate,
)

DECLARED = (
    Integer(name="num_round", required=True, range=Interval(1, None)),
    Continuous(name="eta", default=0.3, range=Interval(0, 1), aliases=("learning_rate",)),
    Categorical(name="booster", choices=("gbtree", "gblinear", "dart")),
    Boolean(name="flag", default=False),
    ListOf(name="eval_metric", item=Categorical(name="eval_metric", choices=("rmse", "auc"))),
    OneOf(
        name="k",
        alternatives=(
            Categorical(name="k", choices=("auto",)),
            Integer(name="k", range=Interval(1, 10)),
        ),
    ),
    Text(name="pairs", validator=lambda s: [int(x) for x in s.split(",")], domain_text="ints"),
)


def test_strings_become_typed_values_with_defaults():
    out = validate(DECLARED, {"num_round": "10", "booster": "dart", "eval_metric": "rmse,auc"})
    assert out == {
        "num_round": 10,
        "eta": 0.3,
        "booster": "dart",
        "flag": False,
        "eval_metric": ["rmse", "auc"],
    }


def test_alias_maps_to_canonical_name():
    assert validate(DECLARED, {"num_round": "1", "learning_rate": "0.1"})["eta"] == 0.1


def test_alias_and_name_together_refused():
    with pytest.raises(HyperparameterError, match="given twice"):
        validate(DECLARED, {"num_round": "1", "learning_rate": "0.1", "eta": "0.2"})


@pytest.mark.parametrize(
    ("given", "parameter", "fragment"),
    [
        ({"num_round": "1", "nope": "1"}, "nope", "Unknown hyperparameter"),
        ({}, "num_round", "Missing required"),
        ({"num_round": "0"}, "num_round", "[1, +inf)"),
        ({"num_round": "1.5"}, "num_round", "integer"),
        ({"num_round": "abc"}, "num_round", "'abc'"),
        ({"num_round": "1", "eta": "1.5"}, "eta", "[0, 1]"),
        ({"num_round": "1", "eta": "nan"}, "eta", "number"),
        ({"num_round": "1", "booster": "linear"}, "booster", "gbtree, gblinear, dart"),
        ({"num_round": "1", "flag": "maybe"}, "flag", "true or false"),
        ({"num_round": "1", "eval_metric": "rmse,bogus"}, "eval_metric", "list of"),
        ({"num_round": "1", "k": "11"}, "k", "auto"),
        ({"num_round": "1", "pairs": "1,x"}, "pairs", "ints"),
    ],
)
def test_refusals_name_parameter_domain_and_value(given, parameter, fragment):
    with pytest.raises(HyperparameterError) as info:
        validate(DECLARED, given)
    err = info.value
    assert err.parameter == parameter
    assert parameter in str(err)
    assert fragment in str(err)


def test_internal_keys_are_accepted_and_kept():
    out = validate(DECLARED, {"num_round": "1", "_tuning_objective_metric": "validation:auc"})
    assert out["_tuning_objective_metric"] == "validation:auc"


def test_cross_parameter_rules_run_on_typed_values():
    def rule(values):
        if values.get("booster") == "gblinear" and values["num_round"] > 5:
            raise HyperparameterError("too many rounds", parameter="num_round", value=6)

    with pytest.raises(HyperparameterError, match="too many"):
        validate(DECLARED, {"num_round": "6", "booster": "gblinear"}, [rule])


def test_json_and_python_style_lists():
    for text in ('["auc"]', "['auc']"):
        assert validate(DECLARED, {"num_round": "1", "eval_metric": text})["eval_metric"] == ["auc"]


def test_interval_bounds():
    assert 0 not in Interval(0, 1, min_open=True)
    assert 1 in Interval(0, 1)
    assert str(Interval(0, 1, max_open=True)) == "[0, 1)"


def test_describe_table_rows():
    rows = describe_table(DECLARED)
    assert rows[0]["name"] == "num_round" and rows[0]["required"] == "yes"
    assert rows[1]["default"] == "0.3"
