"""One pure normalizer per wire format: `normalize(payload) -> NormalizedEvent`, registered here.

Adding a format is one new module and one line in NORMALIZERS.
"""

from channels_ingest.choices import RawEventFormat
from channels_ingest.normalizers import canonical
from channels_ingest.normalizers.event import NormalizationError, NormalizedEvent

NORMALIZERS = {
    RawEventFormat.CANONICAL: canonical.normalize,
}


def normalize_payload(format: str, payload) -> NormalizedEvent:
    """Normalize `payload` with the normalizer of its format; raise NormalizationError when it cannot."""
    try:
        normalizer = NORMALIZERS[format]
    except KeyError:
        raise NormalizationError(f"no normalizer for format {format!r}") from None
    _refuse_nul_characters(payload)
    return normalizer(payload)


def _refuse_nul_characters(value, path: str = "") -> None:
    """PostgreSQL's jsonb and text cannot hold U+0000: refuse it by name rather than fail at the insert."""
    if isinstance(value, str):
        if "\x00" in value:
            raise NormalizationError(f"{path or 'event'}: contains a NUL character (U+0000)")
    elif isinstance(value, dict):
        for key, item in value.items():
            _refuse_nul_characters(key, path)
            _refuse_nul_characters(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _refuse_nul_characters(item, f"{path}[{index}]")


__all__ = ["NORMALIZERS", "NormalizationError", "NormalizedEvent", "normalize_payload"]
