"""JSON bodies the database can store: bounded nesting, no lone surrogates, as 400s with the reason."""

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


class StrictJSONParser(JSONParser):
    """DRF's JSON parser, refusing what would otherwise become a 500 further in.

    Nesting deeper than JSON_MAX_DEPTH (Python's parser recurses; thousands of levels exhaust the stack) and
    strings holding lone UTF-16 surrogates ("\\ud800" is valid JSON, but not text PostgreSQL can store).
    """

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(f"JSON nested deeper than {settings.JSON_MAX_DEPTH} levels") from None
        _check(data, settings.JSON_MAX_DEPTH)
        return data


def _check(value, depth_left: int, path: str = "") -> None:
    if isinstance(value, str):
        _check_text(value, path)
        return
    if not isinstance(value, dict | list):
        return
    if depth_left <= 0:
        raise ParseError(f"JSON nested deeper than {settings.JSON_MAX_DEPTH} levels")
    items = value.items() if isinstance(value, dict) else enumerate(value)
    for key, item in items:
        where = f"{path}[{key}]" if isinstance(key, int) else (f"{path}.{key}" if path else str(key))
        if isinstance(key, str):
            _check_text(key, path)
        _check(item, depth_left - 1, where)


def _check_text(text: str, path: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ParseError(f"{path or 'body'}: invalid Unicode (a lone surrogate escape such as \\ud800)") from None
