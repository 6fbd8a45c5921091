"""Whether a function's Python signature fits its bindings, by the Python worker's rules.

Used by the imitation (Python < 3.13); on 3.13+ the worker library itself decides. The
type checks ask azure-functions' own converters, as the worker does.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable, Mapping
from typing import Any

import azure.functions as func

from devhost.app import AppError, FunctionSpec

RETURN = "$return"


def _converter(binding_type: str) -> Any:
    return func.get_binding_registry().get(binding_type)  # type: ignore[no-untyped-call]


def _has_implicit_output(binding_type: str) -> bool:
    converter = _converter(binding_type)
    return bool(converter is not None and getattr(converter, "has_implicit_output", bool)())


def _fits(binding_type: str, pytype: Any, *, output: bool, generic: bool = True) -> bool:
    # Text and bytes parameters bind as "generic"; a return value keeps its binding's type.
    if generic and pytype in (str, bytes) and not _has_implicit_output(binding_type):
        binding_type = "generic"
    converter = _converter(binding_type)
    if converter is None:
        # Bindings the library does not know are "generic": text or bytes only.
        allowed: tuple[type, ...] = (str, bytes, bytearray) if output else (str, bytes)
        return isinstance(pytype, type) and issubclass(pytype, allowed)
    check = converter.check_output_type_annotation if output else (
        converter.check_input_type_annotation
    )
    try:
        return bool(check(pytype))
    except TypeError:
        return False


def _is_out(annotation: Any) -> bool:
    origin = typing.get_origin(annotation) or annotation
    return isinstance(origin, type) and issubclass(origin, func.Out)


def _is_type(annotation: Any) -> bool:
    return isinstance(annotation, type) or typing.get_origin(annotation) is not None


def _check_parameter(
    name: str, binding: Mapping[str, Any], annotation: Any, function: str
) -> None:
    output = binding.get("direction") == "out"
    is_out = _is_out(annotation)
    if output and not is_out:
        raise AppError(f"{function}: binding {name} is an output, annotate it func.Out[...]")
    if not output and is_out:
        raise AppError(f"{function}: binding {name} is an input but annotated func.Out")
    pytype = annotation
    if is_out:
        arguments = typing.get_args(annotation)
        if len(arguments) != 1:
            raise AppError(f"{function}: binding {name} has an invalid Out annotation")
        pytype = arguments[0]
    if not _is_type(pytype):
        raise AppError(f"{function}: binding {name} has a non-type annotation {pytype!r}")
    if not _fits(str(binding["type"]), pytype, output=output):
        raise AppError(
            f"{function}: type of binding {name} ({binding['type']}) does not match its "
            f"Python annotation {getattr(pytype, '__name__', pytype)!r}"
        )


def check_signature(spec: FunctionSpec, entry: Callable[..., Any]) -> inspect.Signature:
    """The entry point's signature; AppError if the worker would refuse to load it."""
    signature = inspect.signature(entry)
    try:
        hints = typing.get_type_hints(entry)
    except Exception as error:
        # The worker resolves every annotation at load; one that does not resolve fails it.
        raise AppError(f"{spec.name}: {type(error).__name__}: {error}") from error
    bindings = {str(b["name"]): b for b in spec.bindings}
    params = set(signature.parameters)
    if "context" in params and "context" not in bindings:
        params.discard("context")
        context = hints.get("context")
        if context is not None and not (
            isinstance(context, type) and context.__name__ == "Context"
        ):
            raise AppError(f"{spec.name}: the context parameter must be func.Context")
    declared = set(bindings) - {RETURN}
    if params - declared:
        extra = ", ".join(sorted(params - declared))
        raise AppError(f"{spec.name}: parameters without a binding: {extra}")
    if declared - params:
        missing = ", ".join(sorted(declared - params))
        raise AppError(f"{spec.name}: bindings without a parameter: {missing}")
    for name in sorted(params):
        if name in hints:
            _check_parameter(name, bindings[name], hints[name], spec.name)
    if RETURN in bindings and "return" in hints:
        returned = hints["return"]
        if _is_out(returned) or not isinstance(returned, type):
            raise AppError(f"{spec.name}: invalid return annotation {returned!r}")
        if not _fits(str(bindings[RETURN]["type"]), returned, output=True, generic=False):
            raise AppError(
                f"{spec.name}: return annotation {returned.__name__!r} does not match "
                f"binding type {bindings[RETURN]['type']!r}"
            )
    return signature
