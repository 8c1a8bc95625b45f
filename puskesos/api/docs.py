"""The API reference page: the OpenAPI document rendered on the server, nothing loaded from elsewhere."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template

bp = Blueprint("api_docs", __name__)


def openapi_document() -> dict:
    return current_app.extensions["flask-smorest"]["apis"][""]["ext_obj"].spec.to_dict()


def _resolve(spec: dict, node):
    """Follow a `$ref` into components, once."""
    if isinstance(node, dict) and "$ref" in node:
        parts = node["$ref"].lstrip("#/").split("/")
        target = spec
        for part in parts:
            target = target.get(part, {})
        return target
    return node


def _operations(spec: dict) -> list[dict]:
    """Each operation with its references followed, so the template only lays it out."""
    found = []
    for path, item in spec["paths"].items():
        shared = item.get("parameters", [])
        for method in ("get", "post", "patch", "put", "delete"):
            op = item.get(method)
            if op is None:
                continue
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            found.append({
                "method": method, "path": path, "summary": op.get("summary", ""),
                "description": op.get("description", ""),
                "parameters": [_resolve(spec, p) for p in shared + op.get("parameters", [])],
                "body": _resolve(spec, body) if body else None,
                "responses": {code: _resolve(spec, r) for code, r in op.get("responses", {}).items()},
            })
    return found


def _type_of(spec: dict, prop: dict) -> str:
    prop = _resolve(spec, prop)
    kind = prop.get("type")
    if isinstance(kind, list):
        kind = " | ".join(str(k) for k in kind)
    if kind is None:
        kind = "object"
    return f"{kind} ({prop['format']})" if prop.get("format") else kind


@bp.get("/api/v1/docs")
def reference():
    spec = openapi_document()
    return render_template("api/reference.html", spec=spec, operations=_operations(spec),
                           resolve=lambda node: _resolve(spec, node), type_of=lambda prop: _type_of(spec, prop))
