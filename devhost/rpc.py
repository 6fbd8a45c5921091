"""The FunctionRpc messages the Functions host and the Python worker exchange.

Only the messages and fields this local host and azure-functions-runtime-v1 use, declared
with the public protocol's names and field numbers, so no generated code is needed.
"""

from __future__ import annotations

import types
from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory, timestamp_pb2

PACKAGE = "AzureFunctionsRpcMessages"

_F = descriptor_pb2.FieldDescriptorProto
_SCALARS = {
    "string": _F.TYPE_STRING, "bytes": _F.TYPE_BYTES, "bool": _F.TYPE_BOOL,
    "double": _F.TYPE_DOUBLE, "int32": _F.TYPE_INT32, "int64": _F.TYPE_INT64,
    "sint64": _F.TYPE_SINT64,
}

# message -> fields as (name, number, type, options); options: "repeated", "oneof:<name>",
# "map:<value type>" (keys are strings), "enum" (type names a nested or top-level enum).
_MESSAGES: dict[str, list[tuple[str, int, str, str]]] = {
    "NullableString": [("value", 1, "string", "oneof:string")],
    "NullableDouble": [("value", 1, "double", "oneof:double")],
    "NullableBool": [("value", 1, "bool", "oneof:bool")],
    "NullableTimestamp": [("value", 1, ".google.protobuf.Timestamp", "oneof:timestamp")],
    "StreamingMessage": [
        ("request_id", 1, "string", ""),
        ("rpc_log", 2, "RpcLog", "oneof:content"),
        ("invocation_request", 4, "InvocationRequest", "oneof:content"),
        ("invocation_response", 5, "InvocationResponse", "oneof:content"),
        ("function_load_request", 8, "FunctionLoadRequest", "oneof:content"),
        ("function_load_response", 9, "FunctionLoadResponse", "oneof:content"),
        ("worker_init_response", 16, "WorkerInitResponse", "oneof:content"),
        ("worker_init_request", 17, "WorkerInitRequest", "oneof:content"),
        ("functions_metadata_request", 29, "FunctionsMetadataRequest", "oneof:content"),
        ("function_metadata_response", 30, "FunctionMetadataResponse", "oneof:content"),
    ],
    "WorkerInitRequest": [
        ("host_version", 1, "string", ""),
        ("capabilities", 2, "string", "map:string"),
        ("worker_directory", 4, "string", ""),
        ("function_app_directory", 5, "string", ""),
    ],
    "WorkerInitResponse": [
        ("worker_version", 1, "string", ""),
        ("capabilities", 2, "string", "map:string"),
        ("result", 3, "StatusResult", ""),
        ("worker_metadata", 4, "WorkerMetadata", ""),
    ],
    "WorkerMetadata": [
        ("runtime_name", 1, "string", ""),
        ("runtime_version", 2, "string", ""),
        ("worker_version", 3, "string", ""),
        ("worker_bitness", 4, "string", ""),
        ("custom_properties", 5, "string", "map:string"),
    ],
    "StatusResult": [
        ("result", 1, "string", ""),
        ("exception", 2, "RpcException", ""),
        ("logs", 3, "RpcLog", "repeated"),
        ("status", 4, "StatusResult.Status", "enum"),
    ],
    "FunctionsMetadataRequest": [("function_app_directory", 1, "string", "")],
    "FunctionMetadataResponse": [
        ("function_metadata_results", 1, "RpcFunctionMetadata", "repeated"),
        ("result", 2, "StatusResult", ""),
        ("use_default_metadata_indexing", 3, "bool", ""),
    ],
    "FunctionLoadRequest": [
        ("function_id", 1, "string", ""),
        ("metadata", 2, "RpcFunctionMetadata", ""),
    ],
    "FunctionLoadResponse": [
        ("function_id", 1, "string", ""),
        ("result", 2, "StatusResult", ""),
    ],
    "RpcFunctionMetadata": [
        ("directory", 1, "string", ""),
        ("script_file", 2, "string", ""),
        ("entry_point", 3, "string", ""),
        ("name", 4, "string", ""),
        ("bindings", 6, "BindingInfo", "map:message"),
        ("raw_bindings", 10, "string", "repeated"),
        ("function_id", 13, "string", ""),
    ],
    "BindingInfo": [
        ("type", 2, "string", ""),
        ("direction", 3, "BindingInfo.Direction", "enum"),
        ("data_type", 4, "BindingInfo.DataType", "enum"),
    ],
    "InvocationRequest": [
        ("invocation_id", 1, "string", ""),
        ("function_id", 2, "string", ""),
        ("input_data", 3, "ParameterBinding", "repeated"),
        ("trigger_metadata", 4, "TypedData", "map:message"),
        ("trace_context", 5, "RpcTraceContext", ""),
        ("retry_context", 6, "RetryContext", ""),
    ],
    "RpcTraceContext": [
        ("trace_parent", 1, "string", ""),
        ("trace_state", 2, "string", ""),
        ("attributes", 3, "string", "map:string"),
    ],
    "RetryContext": [
        ("retry_count", 1, "int32", ""),
        ("max_retry_count", 2, "int32", ""),
        ("exception", 3, "RpcException", ""),
    ],
    "InvocationResponse": [
        ("invocation_id", 1, "string", ""),
        ("output_data", 2, "ParameterBinding", "repeated"),
        ("result", 3, "StatusResult", ""),
        ("return_value", 4, "TypedData", ""),
    ],
    "TypedData": [
        ("string", 1, "string", "oneof:data"),
        ("json", 2, "string", "oneof:data"),
        ("bytes", 3, "bytes", "oneof:data"),
        ("stream", 4, "bytes", "oneof:data"),
        ("http", 5, "RpcHttp", "oneof:data"),
        ("int", 6, "sint64", "oneof:data"),
        ("double", 7, "double", "oneof:data"),
        ("collection_bytes", 8, "CollectionBytes", "oneof:data"),
        ("collection_string", 9, "CollectionString", "oneof:data"),
        ("collection_sint64", 11, "CollectionSInt64", "oneof:data"),
    ],
    "CollectionBytes": [("bytes", 1, "bytes", "repeated")],
    "CollectionString": [("string", 1, "string", "repeated")],
    "CollectionSInt64": [("sint64", 1, "sint64", "repeated")],
    "ParameterBinding": [
        ("name", 1, "string", ""),
        ("data", 2, "TypedData", "oneof:rpc_data"),
    ],
    "RpcLog": [
        ("invocation_id", 1, "string", ""),
        ("category", 2, "string", ""),
        ("level", 3, "RpcLog.Level", "enum"),
        ("message", 4, "string", ""),
        ("exception", 6, "RpcException", ""),
    ],
    "RpcException": [
        ("stack_trace", 1, "string", ""),
        ("message", 2, "string", ""),
        ("source", 3, "string", ""),
    ],
    "RpcHttpCookie": [
        ("name", 1, "string", ""),
        ("value", 2, "string", ""),
        ("domain", 3, "NullableString", ""),
        ("path", 4, "NullableString", ""),
        ("expires", 5, "NullableTimestamp", ""),
        ("secure", 6, "NullableBool", ""),
        ("http_only", 7, "NullableBool", ""),
        ("same_site", 8, "RpcHttpCookie.SameSite", "enum"),
        ("max_age", 9, "NullableDouble", ""),
    ],
    "RpcHttp": [
        ("method", 1, "string", ""),
        ("url", 2, "string", ""),
        ("headers", 3, "string", "map:string"),
        ("body", 4, "TypedData", ""),
        ("params", 10, "string", "map:string"),
        ("status_code", 12, "string", ""),
        ("query", 15, "string", "map:string"),
        ("enable_content_negotiation", 16, "bool", ""),
        ("cookies", 19, "RpcHttpCookie", "repeated"),
    ],
}

_ENUMS: dict[str, list[tuple[str, int]]] = {
    "StatusResult.Status": [("Failure", 0), ("Success", 1), ("Cancelled", 2)],
    "BindingInfo.Direction": [("in", 0), ("out", 1), ("inout", 2)],
    "BindingInfo.DataType": [("undefined", 0), ("string", 1), ("binary", 2), ("stream", 3)],
    "RpcLog.Level": [
        ("Trace", 0), ("Debug", 1), ("Information", 2), ("Warning", 3), ("Error", 4),
        ("Critical", 5), ("None", 6),
    ],
    "RpcHttpCookie.SameSite": [("None", 0), ("Lax", 1), ("Strict", 2), ("ExplicitNone", 3)],
}


def _type_name(name: str) -> str:
    return name if name.startswith(".") else f".{PACKAGE}.{name}"


def _field(
    message: descriptor_pb2.DescriptorProto, name: str, number: int, kind: str, options: str
) -> None:
    field = message.field.add(name=name, number=number, label=_F.LABEL_OPTIONAL)
    if options.startswith("map:"):
        # A map is a repeated nested key/value entry message, as protoc would declare it.
        entry = message.nested_type.add(name=f"{name.title().replace('_', '')}Entry")
        entry.options.map_entry = True
        entry.field.add(name="key", number=1, label=_F.LABEL_OPTIONAL, type=_F.TYPE_STRING)
        _field(entry, "value", 2, kind, "message" if options == "map:message" else "")
        field.label = _F.LABEL_REPEATED
        field.type = _F.TYPE_MESSAGE
        field.type_name = f".{PACKAGE}.{message.name}.{entry.name}"
        return
    if kind in _SCALARS:
        field.type = _SCALARS[kind]
    else:
        field.type = _F.TYPE_ENUM if options == "enum" else _F.TYPE_MESSAGE
        field.type_name = _type_name(kind)
    if options == "repeated":
        field.label = _F.LABEL_REPEATED
    if options.startswith("oneof:"):
        group = options.removeprefix("oneof:")
        names = [o.name for o in message.oneof_decl]
        if group not in names:
            message.oneof_decl.add(name=group)
            names.append(group)
        field.oneof_index = names.index(group)


def _file() -> descriptor_pb2.FileDescriptorProto:
    file = descriptor_pb2.FileDescriptorProto(
        name="devhost/FunctionRpc.proto", package=PACKAGE, syntax="proto3",
        dependency=["google/protobuf/timestamp.proto"],
    )
    messages = {name: file.message_type.add(name=name) for name in _MESSAGES}
    for name, fields in _MESSAGES.items():
        for field in fields:
            _field(messages[name], *field)
    for name, values in _ENUMS.items():
        owner, _, enum_name = name.partition(".")
        enum = messages[owner].enum_type.add(name=enum_name)
        for value_name, number in values:
            enum.value.add(name=value_name, number=number)
    return file


def _build() -> types.SimpleNamespace:
    pool = descriptor_pool.DescriptorPool()
    pool.AddSerializedFile(timestamp_pb2.DESCRIPTOR.serialized_pb)
    pool.Add(_file())
    classes: dict[str, Any] = {
        name: message_factory.GetMessageClass(
            pool.FindMessageTypeByName(f"{PACKAGE}.{name}")
        )
        for name in _MESSAGES
    }
    return types.SimpleNamespace(**classes)


# What the worker library calls `protos`: message classes by their protocol names.
protos = _build()
