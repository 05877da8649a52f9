"""The ``aialgs.data`` protobuf message classes, built at runtime.

The definition mirrors ``record.proto`` (SageMaker SDK, section 9.2 of the tabular reference)
field for field. Building it from a ``FileDescriptorProto`` avoids a ``protoc`` step and a
generated ``_pb2`` module.
"""

from __future__ import annotations

import functools
from types import SimpleNamespace
from typing import Any

PACKAGE = "aialgs.data"
FILE_NAME = "openmaker/data/record.proto"


def _file_descriptor_proto() -> Any:
    from google.protobuf import descriptor_pb2

    fdp = descriptor_pb2.FileDescriptorProto()
    fdp.name = FILE_NAME
    fdp.package = PACKAGE
    fdp.syntax = "proto2"
    fdp.options.java_package = "com.amazonaws.aialgorithms.proto"
    fdp.options.java_outer_classname = "RecordProtos"

    F = descriptor_pb2.FieldDescriptorProto
    repeated, optional = F.LABEL_REPEATED, F.LABEL_OPTIONAL

    def field(msg: Any, name: str, number: int, ftype: int, label: int, type_name: str = "") -> Any:
        f = msg.field.add(name=name, number=number, type=ftype, label=label)
        if type_name:
            f.type_name = type_name
        return f

    for name, vtype in (
        ("Float32Tensor", F.TYPE_FLOAT),
        ("Float64Tensor", F.TYPE_DOUBLE),
        ("Int32Tensor", F.TYPE_INT32),
    ):
        msg = fdp.message_type.add(name=name)
        for fname, number, ftype in (
            ("values", 1, vtype),
            ("keys", 2, F.TYPE_UINT64),
            ("shape", 3, F.TYPE_UINT64),
        ):
            field(msg, fname, number, ftype, repeated).options.packed = True

    msg = fdp.message_type.add(name="Bytes")
    field(msg, "value", 1, F.TYPE_BYTES, repeated)
    field(msg, "content_type", 2, F.TYPE_STRING, optional)

    msg = fdp.message_type.add(name="Value")
    msg.oneof_decl.add(name="value")
    for fname, number, tname in (
        ("float32_tensor", 2, "Float32Tensor"),
        ("float64_tensor", 3, "Float64Tensor"),
        ("int32_tensor", 7, "Int32Tensor"),
        ("bytes", 9, "Bytes"),
    ):
        f = field(msg, fname, number, F.TYPE_MESSAGE, optional, f".{PACKAGE}.{tname}")
        f.oneof_index = 0

    msg = fdp.message_type.add(name="Record")
    for fname, number, entry in (("features", 1, "FeaturesEntry"), ("label", 2, "LabelEntry")):
        e = msg.nested_type.add(name=entry)
        e.options.map_entry = True
        field(e, "key", 1, F.TYPE_STRING, optional)
        field(e, "value", 2, F.TYPE_MESSAGE, optional, f".{PACKAGE}.Value")
        field(msg, fname, number, F.TYPE_MESSAGE, repeated, f".{PACKAGE}.Record.{entry}")
    for fname, number in (("uid", 3), ("metadata", 4), ("configuration", 5)):
        field(msg, fname, number, F.TYPE_STRING, optional)
    return fdp


@functools.cache
def messages() -> SimpleNamespace:
    """The message classes: ``Record``, ``Value``, ``Float32Tensor``, ``Float64Tensor``,
    ``Int32Tensor`` and ``Bytes``.

    They live in a private descriptor pool, so they never clash with a generated
    ``record_pb2`` (e.g. the SageMaker SDK's) imported in the same process.
    """
    from google.protobuf import descriptor_pool, message_factory

    pool = descriptor_pool.DescriptorPool()
    pool.Add(_file_descriptor_proto())
    classes = {}
    for name in ("Record", "Value", "Float32Tensor", "Float64Tensor", "Int32Tensor", "Bytes"):
        desc = pool.FindMessageTypeByName(f"{PACKAGE}.{name}")
        classes[name] = message_factory.GetMessageClass(desc)
    return SimpleNamespace(**classes)
