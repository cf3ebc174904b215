"""Request body parsers for channel endpoints, each reading at most an explicit number of bytes.

DATA_UPLOAD_MAX_MEMORY_SIZE caps the JSON endpoints; channel formats have caps of their own (Segment's 32 KB
per event and 500 KB per batch, tens of MB for raw email), so these read the stream themselves and stop one
byte past their cap. StrictJSONParser, the default for JSON endpoints, refuses what the database cannot store.
"""

import email.parser
import email.policy
import io
import json
import re
import urllib.parse
import zlib

import orjson
from django.conf import settings
from rest_framework import status
from rest_framework.exceptions import APIException, ParseError
from rest_framework.parsers import BaseParser, JSONParser


class BodyTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "body_too_large"


def read_capped(stream, cap: int, *, too_large) -> bytes:
    """The whole body, or `too_large(cap)` raised as soon as it is seen to exceed `cap` bytes."""
    if stream is None:
        return b""
    body = stream.read(cap + 1)
    if len(body) > cap:
        raise too_large(cap)
    return body


def gunzip_capped(body: bytes, cap: int, *, too_large) -> bytes:
    """Decompress a gzip body without ever holding more than `cap` bytes of it (a zip bomb stops at the cap)."""
    decompressor = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        result = decompressor.decompress(body, cap + 1)
    except zlib.error as exc:
        raise ParseError(f"Content-Encoding gzip: the body is not gzip data ({exc})") from None
    if len(result) > cap or decompressor.unconsumed_tail:
        raise too_large(cap)
    return result


class SegmentJSONParser(BaseParser):
    """JSON of any declared media type (analytics.js posts it as text/plain), gzip or not, within the cap
    the view names for its path (`view.body_cap(kwargs)`), which is Segment's own limit: over it is a 400."""

    media_type = "*/*"

    def parse(self, stream, media_type=None, parser_context=None):
        context = parser_context or {}
        view, request = context.get("view"), context.get("request")
        cap, what = view.body_cap(context.get("kwargs") or {})

        def too_large(limit):
            return ParseError(f"request body over Segment's {limit // 1024} KB limit for {what}; nothing stored")

        body = read_capped(stream, cap, too_large=too_large)
        if request is not None and request.META.get("HTTP_CONTENT_ENCODING", "").lower() == "gzip":
            body = gunzip_capped(body, cap, too_large=too_large)
        return parse_json(body, slow=lambda: _segment_json(body))


def _segment_json(body: bytes):
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ParseError(f"the body is not JSON ({exc})") from None


class RawBodyParser(BaseParser):
    """The body as bytes, for formats parsed by the domain (a MIME message, a multipart form), up to the
    view's `max_body_bytes`; over it is a 413 naming the cap."""

    media_type = "*/*"

    def parse(self, stream, media_type=None, parser_context=None):
        view = (parser_context or {}).get("view")
        cap = view.max_body_bytes()

        def too_large(limit):
            return BodyTooLarge(f"request body larger than {limit} bytes; nothing stored")

        return read_capped(stream, cap, too_large=too_large)


class CappedFormParser(BaseParser):
    """A webhook's form (multipart/form-data or urlencoded) of up to the view's `max_body_bytes`, parsed with
    the standard library's email package rather than Django's, whose 5 MB field cap would refuse an inbound
    message carrying a large raw email as one field. Returns {"fields": {name: text}, "attachments": [...]}:
    uploaded files are listed (name, type, size), not kept."""

    media_type = "*/*"

    def parse(self, stream, media_type=None, parser_context=None):
        view = (parser_context or {}).get("view")
        cap = view.max_body_bytes()

        def too_large(limit):
            return BodyTooLarge(f"request body larger than {limit} bytes; nothing stored")

        body = read_capped(stream, cap, too_large=too_large)
        content_type = media_type or ""
        if content_type.startswith("application/x-www-form-urlencoded"):
            pairs = urllib.parse.parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
            return {"fields": {name: _text_only(value) for name, value in pairs}, "attachments": []}
        if not content_type.startswith("multipart/form-data"):
            raise ParseError("send the form as multipart/form-data or application/x-www-form-urlencoded")
        head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1", "replace")
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
        if not message.is_multipart():
            raise ParseError("multipart/form-data: no parts (is the boundary right?)")
        raw_fields, attachments = {}, []
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            data = part.get_payload(decode=True) or b""
            filename = part.get_filename()
            if filename:
                attachments.append({"name": filename, "type": part.get_content_type(), "size": len(data)})
            elif name:
                raw_fields[name] = (data, part.get_content_charset())
        charsets = _charsets(raw_fields)
        fields = {
            name: _text_only(_decode(data, charsets.get(name) or charset or "utf-8"))
            for name, (data, charset) in raw_fields.items()
        }
        return {"fields": fields, "attachments": attachments}


def _charsets(raw_fields) -> dict:
    """SendGrid names each field's charset in a `charsets` field: {"text": "iso-8859-1", …}."""
    data, _ = raw_fields.get("charsets", (b"", None))
    try:
        charsets = json.loads(data.decode("utf-8")) if data else {}
    except (UnicodeDecodeError, ValueError):
        return {}
    return charsets if isinstance(charsets, dict) else {}


def _decode(data: bytes, charset) -> str:
    try:
        return data.decode(str(charset), "replace")
    except LookupError:
        return data.decode("utf-8", "replace")


def _text_only(value: str) -> str:
    # PostgreSQL text cannot hold U+0000; a stray NUL in a mail body is not worth refusing the mail for.
    return value.replace("\x00", "\ufffd")


class StrictJSONParser(JSONParser):
    """DRF's JSON parser, refusing what would otherwise become a 500 further in.

    Nesting deeper than JSON_MAX_DEPTH (Python's parser recurses; thousands of levels exhaust the stack) and
    strings holding lone UTF-16 surrogates ("\\ud800" is valid JSON, but not text PostgreSQL can store).
    """

    def parse(self, stream, media_type=None, parser_context=None):
        body = stream.read() if stream is not None else b""
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        return parse_json(
            body,
            slow=lambda: self._parse_with_json(body, media_type, parser_context),
            encoding=encoding,
            max_depth=settings.JSON_MAX_DEPTH,
        )

    def _parse_with_json(self, body, media_type, parser_context):
        try:
            data = super().parse(io.BytesIO(body), media_type, parser_context)
        except RecursionError:
            raise ParseError(f"JSON nested deeper than {settings.JSON_MAX_DEPTH} levels") from None
        _check(data, settings.JSON_MAX_DEPTH)
        return data


# Runs of digits this long may be integers past 64 bits, which orjson reads as floats (losing digits).
_LONG_DIGITS = re.compile(rb"\d{19}")


def parse_json(body: bytes, *, slow, encoding: str = "utf-8", max_depth: int | None = None) -> object:
    """The body's JSON, read with orjson (several times quicker than json on a 500-event batch).

    orjson refuses what is not strict UTF-8 JSON (a lone surrogate, NaN, nesting past 1,024 levels): those
    bodies, bodies in another charset, and bodies that may hold integers past 64 bits (which orjson would read
    as floats) go to `slow()`, Python's parser, so that they get its answer and its error messages."""
    if encoding.lower().replace("-", "") != "utf8" or _LONG_DIGITS.search(body):
        return slow()
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return slow()
    # orjson's strings are valid UTF-8, so only the depth is left to check.
    if max_depth is not None and isinstance(data, dict | list):
        _check_depth(data, max_depth)
    return data


def _check_depth(value, depth_left: int) -> None:
    if depth_left <= 0:
        raise ParseError(f"JSON nested deeper than {settings.JSON_MAX_DEPTH} levels")
    for item in value.values() if isinstance(value, dict) else value:
        if isinstance(item, dict | list):
            _check_depth(item, depth_left - 1)


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
