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
    return normalizer(payload)


__all__ = ["NORMALIZERS", "NormalizationError", "NormalizedEvent", "normalize_payload"]
