"""OpenAPI schema additions: the error answers every endpoint can give, so clients and schemathesis know them."""

_ERRORS = {
    "400": "Bad input: `detail` names the problem; nothing was stored.",
    "401": "No token, or a wrong or revoked one.",
    "403": "The API client lacks this endpoint's scope.",
    "404": "No such object.",
    "413": "Request body over DATA_UPLOAD_MAX_MEMORY_SIZE.",
    "429": "Over the client's rate limit; see Retry-After.",
    "503": "The database is unavailable; nothing was stored; retry after Retry-After seconds.",
}


def add_error_responses(result, generator, request, public):
    """drf-spectacular postprocessing hook: an `Error` component and the error answers on every operation."""
    components = result.setdefault("components", {}).setdefault("schemas", {})
    components["Error"] = {
        "type": "object",
        "properties": {
            "detail": {"type": "string", "description": "One readable line."},
            "errors": {"description": "Per-field or per-event detail, when there is more than one problem."},
        },
        "required": ["detail"],
    }
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    # Endpoints that answer in text on ?format=text give their errors as text too.
    text_error = {**error, "text/plain": {"schema": {"type": "string"}}}
    for path in result.get("paths", {}).values():
        for operation in path.values():
            responses = operation.setdefault("responses", {})
            speaks_text = any("text/plain" in (r.get("content") or {}) for r in responses.values())
            for code, description in _ERRORS.items():
                responses.setdefault(
                    code, {"description": description, "content": text_error if speaks_text else error}
                )
    return result
