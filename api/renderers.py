from rest_framework.renderers import BaseRenderer, JSONRenderer


class PlainTextRenderer(BaseRenderer):
    """`?format=text`: views answer with a string (the card or timeline as sentences); errors as one line."""

    media_type = "text/plain"
    format = "text"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if isinstance(data, str):
            return data.encode(self.charset)
        if isinstance(data, dict) and "detail" in data:
            return f"{data['detail']}\n".encode(self.charset)
        return JSONRenderer().render(data)


# The card and the timeline: JSON by default, plain sentences with ?format=text.
JSON_OR_TEXT = [JSONRenderer, PlainTextRenderer]


def wants_text(request) -> bool:
    return getattr(request, "accepted_renderer", None) is not None and request.accepted_renderer.format == "text"
