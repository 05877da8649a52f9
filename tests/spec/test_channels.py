from __future__ import annotations

import pytest

from openmaker.errors import ChannelError, UnsupportedContentTypeError
from openmaker.spec.algorithm import AlgorithmSpec
from openmaker.spec.channels import Channel, ContentType, parse_content_type


def test_aliases_and_parameters():
    assert parse_content_type("text/csv; label_size=0") == ("text/csv", {"label_size": "0"})
    assert parse_content_type("csv")[0] == ContentType.CSV
    assert parse_content_type("text/x-libsvm")[0] == ContentType.LIBSVM
    assert parse_content_type("recordio-protobuf")[0] == ContentType.RECORDIO_PROTOBUF


def test_unknown_type_lists_supported():
    with pytest.raises(UnsupportedContentTypeError) as info:
        parse_content_type("image/gif")
    assert "text/csv" in str(info.value)
    assert info.value.http_status == 415


SPEC = AlgorithmSpec(
    name="demo",
    title="Demo",
    description="",
    hyperparameters=(),
    channels=(
        Channel(
            "train",
            required=True,
            content_types=(ContentType.LIBSVM, ContentType.CSV),
            pipe_content_types=(ContentType.CSV,),
        ),
        Channel("validation"),
    ),
    metrics=(),
    train="x:y",
    model="x:y",
)


def test_channel_validation():
    assert SPEC.validate_channels({"train": (None, "File")}) == {"train": ContentType.LIBSVM}
    assert SPEC.validate_channels({"train": ("csv", "Pipe")}) == {"train": ContentType.CSV}
    with pytest.raises(ChannelError, match="Missing required channel 'train'"):
        SPEC.validate_channels({"validation": ("text/csv", "File")})
    with pytest.raises(ChannelError, match="'extra' is not supported"):
        SPEC.validate_channels({"train": (None, "File"), "extra": (None, "File")})
    with pytest.raises(ChannelError, match="not supported in Pipe mode"):
        SPEC.validate_channels({"train": ("text/libsvm", "Pipe")})
    with pytest.raises(ChannelError, match="image/png"):
        SPEC.validate_channels({"train": ("image/png", "File")})
