"""The OpenAPI 3.1 document, generated from the code (`python -m infra.openapi`).

Everything comes from the functions themselves, merged in route-table order:
- operations: each function's resolver routes (method, path, the route function);
- summaries: the route function's docstring (first line), else its name;
- extensions: the route's Powertools `openapi_extensions` (`x-waymark-extension: true`);
- request bodies: the pydantic model the route parses (`parse_model(Model, ...)`), imported
  by its module or by the route itself (which keeps pydantic out of a cold start), optional
  when it reads `optional_json_body`;
- query parameters: the `ListSpec` it parses (`parse_list_query`), `expand` where it parses
  one (`parse_expand`), each `required_query(app, "<name>")`, found in the route function and
  the module's helpers it calls;
- responses: the route's return annotation, a name from shared/http/returns.py, whose schema
  is in infra/openapi/objects.py; every operation also documents the API's error answers.

Built at build time, not by Powertools' runtime validation: `make bench` measures what
`enable_validation` would add to every cold start. Headers every operation (or every write)
takes are one `HeaderParameter` each in HEADER_PARAMETERS.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import textwrap
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from infra.openapi.objects import STRING, Schema, ref, response_schemas
from infra.routes import API_FUNCTIONS, FunctionRoute
from shared.domain.limits import MAX_IDEMPOTENCY_KEY_LENGTH, MAX_QUERY_VALUE_LENGTH
from shared.http import idempotency
from shared.http.conventions import API_VERSION
from shared.http.listing import DEFAULT_LIMIT, MAX_LIMIT, ListSpec

OPENAPI_VERSION = "3.1.0"
EXTENSION_FLAG = "x-waymark-extension"
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass(frozen=True)
class HeaderParameter:
    """A request header documented on every operation whose method is in `methods`."""

    name: str
    component: str
    description: str
    schema: Schema
    methods: frozenset[str] = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"})
    required: bool = False

    def parameter(self) -> Schema:
        return {
            "name": self.name,
            "in": "header",
            "required": self.required,
            "description": self.description,
            "schema": self.schema,
        }


HEADER_PARAMETERS: tuple[HeaderParameter, ...] = (
    HeaderParameter(
        name="Userflow-Version",
        component="UserflowVersion",
        description=(
            f"The API version; the only one is {API_VERSION}, also used when the header is "
            "left out. Any other value is a 400."
        ),
        schema={"type": "string", "enum": [API_VERSION]},
    ),
    HeaderParameter(
        name=idempotency.HEADER,
        component="IdempotencyKey",
        description=idempotency.HEADER_DESCRIPTION,
        schema={
            "type": "string",
            "minLength": 1,
            "maxLength": MAX_IDEMPOTENCY_KEY_LENGTH,
            # Printable ASCII, not only spaces (shared/http/idempotency.py).
            "pattern": "^[ -~]*[!-~][ -~]*$",
        },
        methods=WRITES,
    ),
)


@dataclass(frozen=True)
class ErrorAnswer:
    status: int
    component: str
    description: str
    retry_after: bool = False


ERROR_ANSWERS: tuple[ErrorAnswer, ...] = (
    ErrorAnswer(400, "BadRequest", "Invalid query parameters, path parameters or JSON body."),
    ErrorAnswer(401, "Unauthorized", "Missing or invalid API key."),
    ErrorAnswer(403, "Forbidden", "The key's environment is not enabled on this API."),
    ErrorAnswer(404, "NotFound", "Unrecognized URL, or no such object."),
    ErrorAnswer(405, "MethodNotAllowed", "The method is not allowed on this URL."),
    ErrorAnswer(406, "NotAcceptable", "The client does not accept JSON."),
    ErrorAnswer(
        409,
        "Conflict",
        "Too many concurrent updates to one object (retry), or an Idempotency-Key in use or "
        f"reused: {', '.join(f'`{code}`' for code in idempotency.ERROR_CODES[1:])}.",
    ),
    ErrorAnswer(413, "TooLarge", "The request is too large."),
    ErrorAnswer(415, "UnsupportedMediaType", "The body is not declared as JSON."),
    ErrorAnswer(
        429,
        "TooManyRequests",
        "The environment's rate limit or daily quota is reached.",
        retry_after=True,
    ),
    ErrorAnswer(
        503, "ServiceUnavailable", "A service the request needs is unavailable.", retry_after=True
    ),
)


@dataclass
class Operation:
    function: FunctionRoute
    method: str
    path: str
    name: str
    summary: str
    description: str | None
    extensions: dict[str, Any]
    returns: str
    body: type[BaseModel] | None = None
    body_required: bool = True
    list_spec: ListSpec | None = None
    expand: str | None = None
    required_query: list[str] = field(default_factory=list)
    path_parameters: list[str] = field(default_factory=list)


def build_document(functions: tuple[FunctionRoute, ...] = API_FUNCTIONS) -> dict[str, Any]:
    operations = [operation for function in functions for operation in _operations(function)]
    models = {op.body for op in operations if op.body is not None}
    names, definitions = models_json_schema(
        [(model, "validation") for model in sorted(models, key=lambda m: m.__name__)],
        ref_template="#/components/schemas/{model}",
    )
    body_refs = {model: dict(names[(model, "validation")]) for model in models}
    paths: dict[str, dict[str, Any]] = {}
    for operation in operations:
        paths.setdefault(operation.path, {})[operation.method.lower()] = _operation(
            operation, body_refs
        )
    schemas = {**definitions.get("$defs", {}), **response_schemas()}
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "Waymark API",
            "version": API_VERSION,
            "description": (
                "A self-hostable API compatible with the Userflow REST API "
                f"({API_VERSION}). Operations Userflow lacks carry "
                f"`{EXTENSION_FLAG}: true`. Generated from the code by "
                "`python -m infra.openapi`: do not edit."
            ),
        },
        "security": [{"bearerAuth": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An environment's API key: `Authorization: Bearer ak_...`.",
                }
            },
            "parameters": {h.component: h.parameter() for h in HEADER_PARAMETERS},
            "responses": {e.component: _error_response(e) for e in ERROR_ANSWERS},
            "schemas": dict(sorted(schemas.items())),
        },
    }


def _operations(function: FunctionRoute) -> Iterator[Operation]:
    module = importlib.import_module(function.module)
    app = getattr(module, "app", None)
    if app is None:
        # Usertour's v1 surface has no resolver of its own: it presents the operations below
        # in v1's shape (docs/usertour-v1.md), so it is not a second set of operations here.
        return
    for route in [*app._static_routes, *app._dynamic_routes]:
        func = route.func
        returns = str(func.__annotations__.get("return", "")).rsplit(".", 1)[-1]
        if returns not in response_schemas():
            raise ValueError(
                f"{function.module}.{func.__name__}: annotate its return with a name from "
                f"shared/http/returns.py (found {returns!r})"
            )
        doc = inspect.getdoc(func)
        summary, _, description = (doc or "").partition("\n\n")
        operation = Operation(
            function=function,
            method=route.method,
            path=route.openapi_path,
            name=func.__name__,
            summary=" ".join(summary.split()) or func.__name__.replace("_", " ").capitalize(),
            description=" ".join(description.split()) or None,
            extensions=dict(route.openapi_extensions or {}),
            returns=returns,
            path_parameters=list(inspect.signature(func).parameters),
        )
        _read_parsing(operation, func, module)
        yield operation


def _read_parsing(operation: Operation, func: Callable[..., Any], module: ModuleType) -> None:
    """What the route parses, read from its code and the module's helpers it calls."""
    for call, imported in _calls(func, module, depth=2):
        name = _name(call.func)
        if name == "parse_model":
            model = _global(module, call.args[0], imported)
            if not (isinstance(model, type) and issubclass(model, BaseModel)):
                raise ValueError(f"{operation.name}: parse_model of a non-model {model!r}")
            operation.body = model
            source = _name(call.args[1].func) if isinstance(call.args[1], ast.Call) else ""
            operation.body_required = source == "json_body"
        elif name == "parse_list_query":
            spec = _global(module, call.args[1], imported)
            if not isinstance(spec, ListSpec):
                raise ValueError(f"{operation.name}: parse_list_query of {spec!r}")
            operation.list_spec = spec
        elif name == "required_query":
            argument = call.args[1]
            if not (isinstance(argument, ast.Constant) and isinstance(argument.value, str)):
                raise ValueError(f"{operation.name}: required_query needs a literal name")
            operation.required_query.append(argument.value)
        elif name == "parse_expand":
            argument = call.args[1]
            if not (isinstance(argument, ast.Constant) and isinstance(argument.value, str)):
                raise ValueError(f"{operation.name}: parse_expand needs a literal object type")
            operation.expand = argument.value


def _calls(
    func: Callable[..., Any], module: ModuleType, depth: int
) -> Iterator[tuple[ast.Call, dict[str, Any]]]:
    """Each call in `func` and in the module's helpers it calls, with the names the function
    holding the call imports itself (body models, imported on first use)."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(func)))
    imported = _imported(tree)
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        yield node, imported
        helper = getattr(module, _name(node.func), None)
        if (
            depth > 1
            and inspect.isfunction(helper)
            and helper.__module__ == module.__name__
            and helper is not func
        ):
            yield from _calls(helper, module, depth - 1)


def _imported(tree: ast.AST) -> dict[str, Any]:
    """What a function's own `from <module> import <name>` statements bind (a name of the
    module, or a submodule of a package: a route's service, imported on first use)."""
    return {
        alias.asname or alias.name: _import_from(node.module, alias.name)
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module and not node.level
        for alias in node.names
    }


def _import_from(module: str, name: str) -> Any:
    found = importlib.import_module(module)
    if hasattr(found, name):
        return getattr(found, name)
    return importlib.import_module(f"{module}.{name}")


def _name(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


def _global(module: ModuleType, node: ast.expr, imported: dict[str, Any]) -> Any:
    name = _name(node)
    if name in imported:
        return imported[name]
    if not name or not hasattr(module, name):
        raise ValueError(f"{module.__name__}: cannot resolve {ast.dump(node)}")
    return getattr(module, name)


def _operation(operation: Operation, body_refs: dict[type[BaseModel], Schema]) -> dict[str, Any]:
    document: dict[str, Any] = {
        "operationId": operation.name,
        "summary": operation.summary,
        "tags": [operation.function.name],
    }
    if operation.description:
        document["description"] = operation.description
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": STRING}
        for name in operation.path_parameters
    ]
    parameters += _query_parameters(operation)
    parameters += [
        {"$ref": f"#/components/parameters/{header.component}"}
        for header in HEADER_PARAMETERS
        if operation.method in header.methods
    ]
    if parameters:
        document["parameters"] = parameters
    if operation.body is not None:
        document["requestBody"] = {
            "required": operation.body_required,
            "content": {"application/json": {"schema": body_refs[operation.body]}},
        }
    document["responses"] = {
        "200": {
            "description": f"The {_words(operation.returns)}.",
            "content": {"application/json": {"schema": ref(operation.returns)}},
        },
        **{str(e.status): {"$ref": f"#/components/responses/{e.component}"} for e in ERROR_ANSWERS},
    }
    document.update(operation.extensions)
    return document


def _query_parameters(operation: Operation) -> list[Schema]:
    spec = operation.list_spec
    parameters: list[Schema] = [
        {**_query(name, STRING, _FILTERS.get(name, "Required.")), "required": True}
        for name in operation.required_query
    ]
    if spec is not None:
        orders = sorted(spec.order_fields)
        parameters += [
            _query(
                "limit",
                {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
                "How many objects a page holds.",
            ),
            _query("starting_after", STRING, "The id of the last object of the previous page."),
            *_repeatable(
                "order_by",
                {"type": "string", "enum": [*orders, *(f"-{o}" for o in orders)]},
                f"Sort by these fields (`-` for descending); default `{spec.default_order}`.",
            ),
            *(_query(name, STRING, _FILTERS.get(name, "Filter.")) for name in sorted(spec.filters)),
        ]
        for name in sorted(spec.list_filters):
            parameters += _repeatable(name, STRING, "Filter (one or more values).")
    object_type = spec.object_type if spec is not None else operation.expand
    if object_type is not None:
        parameters += _repeatable(
            "expand", STRING, f"Expand related objects of the {object_type} (dotted paths)."
        )
    return parameters


_FILTERS = {
    "condition": "A condition filter, as JSON.",
    "email": "Only users with this email.",
    "group_id": "Only objects of this group.",
    "user_id": "Only objects of this user.",
    "segment_id": "Only objects in this segment.",
    "content_id": "Only objects of this content.",
    "scope": "Only definitions of this scope.",
    "type": "Only content of this type.",
}


def _query(name: str, schema: Schema, description: str) -> Schema:
    if schema.get("type") == "string" and "enum" not in schema:
        schema = {**schema, "maxLength": MAX_QUERY_VALUE_LENGTH}
    return {"name": name, "in": "query", "description": description, "schema": schema}


def _repeatable(name: str, item: Schema, description: str) -> list[Schema]:
    """`name` (once) and `name[]` (repeated), as the reference accepts both."""
    return [
        _query(name, item, description),
        {
            "name": f"{name}[]",
            "in": "query",
            "description": description,
            "schema": {"type": "array", "items": item},
            "style": "form",
            "explode": True,
        },
    ]


def _error_response(answer: ErrorAnswer) -> Schema:
    response: Schema = {
        "description": answer.description,
        "content": {"application/json": {"schema": ref("Error")}},
    }
    if answer.retry_after:
        response["headers"] = {
            "Retry-After": {
                "description": "Seconds to wait before retrying.",
                "schema": {"type": "string", "pattern": "^[0-9]+$"},
            }
        }
    return response


def _words(name: str) -> str:
    words = "".join(f" {c.lower()}" if c.isupper() else c for c in name).strip()
    return words.replace(" list", " list object")
