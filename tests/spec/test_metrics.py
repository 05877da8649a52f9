from __future__ import annotations

from openmaker.spec.metrics import MetricDefinition, format_log_line


def test_tab_becomes_011_and_regex_matches():
    m = MetricDefinition("validation:rmse", r".*\[[0-9]+\].*#011validation-rmse:(\S+)")
    line = format_log_line("[3]\ttrain-rmse:1.5\tvalidation-rmse:2.25")
    assert m.match(line) == 2.25
    assert m.match("[3]\tvalidation-rmse:2.25") is None  # raw tab: CloudWatch never shows it


def test_unparsable_value_is_none():
    m = MetricDefinition("x", r"x=(\S+)")
    assert m.match("x=abc") is None


def test_greedy_group_reads_the_leading_number():
    m = MetricDefinition("train:rmse", r".*\[[0-9]+\]#011train-rmse:(\S+)")
    line = format_log_line("[3]\ttrain-rmse:1.5\tvalidation-rmse:2.25")
    assert m.match(line) == 1.5
