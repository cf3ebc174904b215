"""Email: raw RFC 5322 / MIME messages, and inbound-parse webhooks (SendGrid's or Mailgun's form fields).

Parsed with the standard library's email package and its modern policy. One message is one interaction,
keyed by its Message-ID; messages of one thread share a case, named by the thread's first Message-ID.
"""

import base64
import binascii
import email
import email.policy
import json
import re
from email.message import EmailMessage, Message
from email.parser import BytesHeaderParser, HeaderParser
from email.utils import getaddresses
from html.parser import HTMLParser

import orjson
from django.conf import settings

from channels_ingest.normalizers import fields
from channels_ingest.normalizers.event import CaseRef, Delivery, NormalizationError, NormalizedEvent
from customer_memory.choices import IdentifierKind
from interactions.choices import CaseStatus, Channel, Direction

# A msg-id holds no space nor control character (RFC 5322 3.6.4); a NUL in a broken header must not
# become a key PostgreSQL cannot store.
MESSAGE_ID = re.compile(r"<([^<>\s\x00-\x1f\x7f]+)>")
REPLY_PREFIX = re.compile(r"^\s*((re|fw|fwd|aw|sv|wg|antw|réf|tr)\s*(\[\d+\])?\s*:\s*)+", re.IGNORECASE)
# Where quoted history starts: "On … wrote:" (and its translations), Outlook's separators.
QUOTE_START = re.compile(
    r"^\s*(on\b.{0,300}\bwrote:|le\b.{0,300}\ba écrit\s?:|am\b.{0,300}\bschrieb\b.{0,200}:"
    r"|-{2,}\s*original message\s*-{2,}|-{2,}\s*forwarded message\s*-{2,}|_{20,})\s*$",
    re.IGNORECASE | re.DOTALL,
)
OUTLOOK_HEADER = re.compile(r"^\s*(from|von|de)\s*:\s.+", re.IGNORECASE)
OUTLOOK_SENT = re.compile(r"^\s*(sent|date|gesendet|envoyé)\s*:", re.IGNORECASE)
MOBILE_SIGNATURE = re.compile(r"^\s*sent from my \w+", re.IGNORECASE)
AUTOMATED_SUBJECT = re.compile(
    r"^\s*(automatic reply|auto(matic)?[- ]?reply|out of (the )?office|abwesenheitsnotiz|réponse automatique)\b",
    re.IGNORECASE,
)
BOUNCE_SENDERS = ("mailer-daemon", "postmaster")
MAX_ATTACHMENTS = 100


# --- Delivery keys -----------------------------------------------------------------------------------------


def delivery_key(payload) -> str:
    """The message's Message-ID (a resend of a message is the same message), else a hash of its bytes."""
    raw = mime_bytes(payload)
    headers = BytesHeaderParser(policy=email.policy.compat32).parsebytes(raw)
    return _message_id(headers.get("Message-ID")) or fields.content_key(raw)


def inbound_delivery_key(payload) -> str:
    form = _form(payload)
    if form.get("email"):
        return delivery_key({"mime": form["email"]})
    headers = _inbound_headers(form)
    return _message_id(headers.get("Message-ID")) or fields.content_key(payload)


def mime_bytes(payload) -> bytes:
    """The raw message a raw-email payload holds: {"mime": text} or, for 8-bit mail, {"mime_base64": …}."""
    if not isinstance(payload, dict):
        raise NormalizationError("a raw email payload must be an object with mime or mime_base64")
    if isinstance(payload.get("mime"), str) and payload["mime"].strip():
        return payload["mime"].encode("utf-8", "replace")
    if isinstance(payload.get("mime_base64"), str):
        try:
            raw = base64.b64decode(payload["mime_base64"], validate=True)
        except (binascii.Error, ValueError):
            raise NormalizationError("mime_base64: not base64") from None
        if raw.strip():
            return raw
    raise NormalizationError("the message is empty")


def mime_payload(raw: bytes) -> dict:
    """How the inbox stores a raw message: as text when it is 7-bit clean (most MIME is), else base64."""
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        text = None
    if text is not None and "\x00" not in text:
        return {"mime": text}
    return {"mime_base64": base64.b64encode(raw).decode("ascii")}


# --- Normalizers -------------------------------------------------------------------------------------------


def normalize(payload, delivery: Delivery) -> NormalizedEvent:
    message = email.message_from_bytes(mime_bytes(payload), policy=email.policy.default)
    text, attachments = _body_and_attachments(_parts(message))
    return _event(message, text, attachments, delivery, key=delivery_key(payload))


def normalize_inbound(payload, delivery: Delivery) -> NormalizedEvent:
    form = _form(payload)
    if form.get("email"):
        # Inbound parse in "raw" mode: the whole MIME message is one field.
        return normalize({"mime": form["email"]}, delivery)
    headers = _inbound_headers(form)
    text = form.get("text") or form.get("body-plain") or ""
    if not text.strip() and (form.get("html") or form.get("body-html")):
        text = html_to_text(form.get("html") or form.get("body-html"))
    attachments = payload.get("attachments") or []
    if not isinstance(attachments, list):
        raise NormalizationError("attachments: must be a list")
    return _event(headers, text, attachments[:MAX_ATTACHMENTS], delivery, key=inbound_delivery_key(payload))


def _form(payload) -> dict:
    if not isinstance(payload, dict) or not isinstance(payload.get("fields"), dict):
        raise NormalizationError("an inbound email must be form fields")
    form = payload["fields"]
    if not all(isinstance(v, str) for v in form.values()):
        raise NormalizationError("form fields must be text")
    if not (form.get("email") or form.get("headers") or form.get("message-headers") or form.get("from")):
        raise NormalizationError("no message: send the raw message as `email`, or `headers`/`from` with the body")
    return form


def _inbound_headers(form: dict) -> Message:
    """The message's headers from an inbound-parse form: SendGrid's `headers` block, Mailgun's
    `message-headers` list, else the separate from/to/cc/subject fields."""
    if form.get("headers"):
        headers = HeaderParser(policy=email.policy.default).parsestr(form["headers"].strip() + "\n\n")
        # The separate fields fill what a shortened header block leaves out.
        for name in ("from", "to", "cc", "subject"):
            if form.get(name) and name not in headers:
                try:
                    headers[name] = form[name]
                except (ValueError, TypeError, IndexError):  # a field the email package cannot take as a header
                    pass
        return headers
    headers = EmailMessage(policy=email.policy.compat32)
    if form.get("message-headers"):
        try:
            pairs = json.loads(form["message-headers"])
        except ValueError:
            raise NormalizationError("message-headers: not JSON") from None
        if not isinstance(pairs, list) or not all(isinstance(p, list) and len(p) == 2 for p in pairs):
            raise NormalizationError("message-headers: must be a list of [name, value] pairs")
        for name, value in pairs:
            headers[str(name)] = str(value)
        return headers
    for name in ("from", "to", "cc", "subject", "date", "Message-Id", "In-Reply-To", "References"):
        if form.get(name):
            headers[name] = form[name]
    return headers


# --- The message -------------------------------------------------------------------------------------------


def _event(message, text: str, attachments: list, delivery: Delivery, *, key: str) -> NormalizedEvent:
    """The message's event, any NUL in it replaced by U+FFFD. A JSON payload's NUL is refused before any
    normalizer runs, but a message's bytes (base64 in the inbox, or a base64 part) are decoded here, and
    broken mailers do put NUL in a subject, a name or a body: the message is still the customer's, so it is
    kept, readable, rather than failed at the insert."""
    event = _message_event(message, text, attachments, delivery, key=key)
    data = event.to_json()
    if b"\\u0000" not in orjson.dumps(data):  # how JSON writes a NUL
        return event
    return NormalizedEvent.from_json(_without_nul(data))


def _without_nul(value):
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, dict):
        return {key: _without_nul(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_without_nul(item) for item in value]
    return value


def _message_event(message, text: str, attachments: list, delivery: Delivery, *, key: str) -> NormalizedEvent:
    parts = _parts(message)
    sender = _addresses(message, "From")
    to, cc = _addresses(message, "To"), _addresses(message, "Cc")
    subject = fields.text(_header(message, "Subject"), "Subject", max_length=300)
    automated, why = _automated(message, parts, sender, subject)
    # Mail from our own domains is ours (outbound), except a bounce, which our mail server sends about
    # a customer's address that failed.
    outbound = why != "bounce" and bool(sender) and all(_is_company(a[1]) for a in sender)
    if why == "bounce":
        customers = [("", address) for address in _failed_recipients(parts)]
    elif outbound:
        customers = [a for a in to if not _is_company(a[1])][:1]
    else:
        customers = [a for a in sender if not _is_company(a[1])]
    identifiers = fields.unique(fields.identifier_or_none(IdentifierKind.EMAIL, address) for _, address in customers)
    if not identifiers and not sender:
        raise NormalizationError("From: no sender address")
    if not identifiers:
        raise NormalizationError("From/To: no customer address (the sender and recipients are the company's own)")

    references = MESSAGE_ID.findall(_header(message, "References"))
    in_reply_to = MESSAGE_ID.findall(_header(message, "In-Reply-To"))
    root = (references or in_reply_to or [key])[0]
    new_text = strip_quoted(text)
    traits = {}
    name = _display_name(customers[0][0]) if customers and not outbound else ""
    if name:
        traits["name"] = fields.text(name, "From", max_length=200)
    return NormalizedEvent(
        source=delivery.source,
        external_id=key,
        channel=Channel.EMAIL,
        type="email",
        direction=Direction.OUTBOUND if outbound else Direction.INBOUND,
        occurred_at=_sent_at(message, delivery),
        identifiers=identifiers,
        summary=_summary(subject, new_text),
        traits=traits,
        # Machine mail opens no case of its own; it joins the thread it answers when that is on record.
        case=None
        if automated
        else CaseRef(
            external_id=root[:255],
            title=REPLY_PREFIX.sub("", subject)[:300],
            # Our own replies leave the case's status as it is; a customer's mail (re)opens it.
            status="" if outbound else CaseStatus.OPEN,
        ),
        attributes={
            "subject": subject,
            "message_id": key,
            "from": [_format(a) for a in sender],
            "to": [_format(a) for a in to],
            "cc": [_format(a) for a in cc],
            "attachments": attachments,
            "text": new_text[:10_000],
            **({"automated": why} if automated else {}),
        },
        automated=automated,
        replies_to=list(dict.fromkeys(in_reply_to + references + _returned_message_ids(parts))),
    )


def _header(message, name: str) -> str:
    """A header's (decoded) text; a header the email package cannot parse reads as absent."""
    try:
        value = message.get(name)
        return str(value) if value is not None else ""
    except Exception:  # the email package raises assorted errors on malformed headers
        return ""


def _addresses(message, name: str) -> list[tuple[str, str]]:
    value = _header(message, name)
    return [(display, address) for display, address in getaddresses([value]) if "@" in address]


def _display_name(display: str) -> str:
    """The sender's name as a person writes it: "Reed, Miles" (directory order) reads "Miles Reed"; an
    address used as a name is no name."""
    name = " ".join(display.split())
    if "@" in name:
        return ""
    last, comma, first = name.partition(",")
    if comma and first.strip() and " " not in last.strip():
        return f"{first.strip()} {last.strip()}"
    return name


def _format(address: tuple[str, str]) -> str:
    return f"{address[0]} <{address[1]}>" if address[0] else address[1]


def _is_company(address: str) -> bool:
    domain = address.rpartition("@")[2].lower().rstrip(">")
    return any(domain == d or domain.endswith("." + d) for d in settings.EMAIL_COMPANY_DOMAINS)


def _message_id(value) -> str:
    found = MESSAGE_ID.findall(str(value or ""))
    if found:
        return found[0][:255]
    text = str(value or "").strip()
    return text[:255] if text and not re.search(r"[\s\x00-\x1f\x7f]", text) else ""


def _sent_at(message, delivery: Delivery):
    """The Date header; a missing, unreadable or future one (a sender's clock) reads as the arrival time."""
    value = _header(message, "Date")
    try:
        sent = fields.rfc2822_datetime(value, "Date") if value else None
    except NormalizationError:
        sent = None
    if sent is None or sent > delivery.received_at + settings.INGEST_MAX_CLOCK_SKEW:
        return delivery.received_at
    return sent


def _parts(message) -> list[tuple[Message, str]]:
    """Every part of the message with its content type, read once: the modern policy parses a header again
    on each access, and reading them per question made normalizing mail several times slower."""
    return [(part, part.get_content_type()) for part in message.walk()]


def _automated(message, parts, sender, subject: str) -> tuple[bool, str]:
    """Whether a machine sent it (RFC 3834 Auto-Submitted, delivery reports, out-of-office), and which kind."""
    content_type = parts[0][1] if parts else ""
    if content_type == "multipart/report" or any(a[1].split("@")[0].lower() in BOUNCE_SENDERS for a in sender):
        return True, "bounce"
    auto = _header(message, "Auto-Submitted").strip().lower()
    if auto and auto != "no":
        return True, "auto-reply"
    if _header(message, "Precedence").strip().lower() in ("bulk", "junk", "auto_reply"):
        return True, "auto-reply"
    if _header(message, "X-Autoreply") or _header(message, "X-Autorespond") or AUTOMATED_SUBJECT.match(subject):
        return True, "auto-reply"
    return False, ""


def _failed_recipients(parts) -> list[str]:
    """The addresses a delivery report says could not be reached (Final-Recipient: rfc822; x@y)."""
    found = []
    for part, content_type in parts:
        if content_type != "message/delivery-status":
            continue
        blocks = part.get_payload()
        for block in blocks if isinstance(blocks, list) else []:
            for name in ("Final-Recipient", "Original-Recipient"):
                value = _header(block, name)
                if ";" in value:
                    found.append(value.split(";", 1)[1].strip())
    return list(dict.fromkeys(found))


def _returned_message_ids(parts) -> list[str]:
    """The Message-ID of our mail a delivery report returns (its text/rfc822-headers part)."""
    found = []
    for part, content_type in parts:
        if content_type == "text/rfc822-headers":
            headers = HeaderParser(policy=email.policy.compat32).parsestr(_part_text(part))
            found += MESSAGE_ID.findall(str(headers.get("Message-ID") or ""))
    return found


def _body_and_attachments(parts) -> tuple[str, list[dict]]:
    """The message's text (its first plain-text part, else its HTML as text) and its attachments listed.

    Parts with a file name or an attachment disposition are attachments, whatever their type."""
    plain = html = None
    attachments = []
    for part, content_type in parts:
        if part.is_multipart():
            continue
        filename = _filename(part)
        if filename or part.get_content_disposition() == "attachment":
            if len(attachments) < MAX_ATTACHMENTS:
                payload = part.get_payload(decode=True)
                attachments.append({"name": filename, "type": content_type, "size": len(payload or b"")})
        elif content_type == "text/plain" and plain is None:
            plain = part
        elif content_type == "text/html" and html is None:
            html = part
    if plain is not None:
        return _part_text(plain), attachments
    return (html_to_text(_part_text(html)) if html is not None else ""), attachments


def _filename(part) -> str:
    try:
        return part.get_filename() or ""
    except Exception:
        return ""


def _part_text(part) -> str:
    """A text part's content in its declared charset; an unknown or lying charset is read as UTF-8, then
    Latin-1, rather than lose the message."""
    try:
        return part.get_content()
    except (LookupError, UnicodeError, AttributeError, KeyError, ValueError):
        raw = part.get_payload(decode=True) or b""
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return raw.decode("latin-1")


class _TextExtractor(HTMLParser):
    BLOCKS = {"p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "table", "hr"}
    SKIPPED = {"script", "style", "head", "title"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0
        self.quoting = 0

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIPPED:
            self.skipping += 1
        if tag == "blockquote":
            self.quoting += 1
        if tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in self.SKIPPED and self.skipping:
            self.skipping -= 1
        if tag == "blockquote" and self.quoting:
            self.quoting -= 1
        if tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data):
        if self.skipping:
            return
        # Quoted history in HTML mail is a blockquote: mark its lines as quoted, as plain-text mail does.
        self.parts.append("\n".join("> " + line for line in data.split("\n")) if self.quoting else data)


def html_to_text(html: str) -> str:
    extractor = _TextExtractor()
    try:
        extractor.feed(html)
        extractor.close()
    except Exception:  # html.parser is lenient; this only guards against a pathological document
        pass
    lines = (" ".join(line.split()) for line in "".join(extractor.parts).split("\n"))
    return "\n".join(line for line in lines if line)


def strip_quoted(text: str) -> str:
    """The new words of a message: quoted lines ("> …"), the history after "On … wrote:" or Outlook's
    "From:" block, and the signature after "-- " are left out."""
    lines = text.replace("\r\n", "\n").split("\n")
    kept = []
    for index, line in enumerate(lines):
        stripped = line.strip()
        if line.rstrip() == "--" or line == "-- " or MOBILE_SIGNATURE.match(line):
            break
        # "On Mon, 23 Nov 2026, Support <help@…>\nwrote:" is often wrapped over two or three lines.
        if stripped.lower().startswith(("on ", "le ", "am ")) or stripped.startswith(("-", "_")):
            joined = " ".join(part.strip() for part in lines[index : index + 3])
            candidates = [stripped, " ".join(part.strip() for part in lines[index : index + 2]), joined]
            if any(QUOTE_START.match(candidate) for candidate in candidates):
                break
        following = lines[index + 1] if index + 1 < len(lines) else ""
        if OUTLOOK_HEADER.match(line) and OUTLOOK_SENT.match(following):
            break
        if stripped.startswith(">"):
            continue
        kept.append(line)
    return "\n".join(kept).strip()


def _summary(subject: str, text: str) -> str:
    excerpt = " ".join(text.split())
    if len(excerpt) > 280:
        excerpt = excerpt[:279] + "…"
    if subject and excerpt:
        return f"{subject} — {excerpt}"
    return subject or excerpt
