"""A rule file's bytes -> text: size limit, byte-order marks, UTF-16, binary files.

Sigma rules are UTF-8. Windows editors still save UTF-16 with a byte-order mark now and then, which
decodes without guesswork, so it is read (with a warning); anything else that is not UTF-8 is
reported by name and line rather than as an undifferentiated "binary" file.
"""

from __future__ import annotations

import codecs

from .problems import RuleFileError

# Longest first: the UTF-32-LE mark starts with the UTF-16-LE one.
BYTE_ORDER_MARKS = (
    (codecs.BOM_UTF32_LE, "utf-32-le", "UTF-32"),
    (codecs.BOM_UTF32_BE, "utf-32-be", "UTF-32"),
    (codecs.BOM_UTF8, "utf-8", ""),
    (codecs.BOM_UTF16_LE, "utf-16-le", "UTF-16"),
    (codecs.BOM_UTF16_BE, "utf-16-be", "UTF-16"),
)


def decode(data: bytes) -> tuple[str, str]:
    """(text, warning or '') of a rule file's bytes, or RuleFileError naming the line at fault."""
    for mark, codec, name in BYTE_ORDER_MARKS:
        if data.startswith(mark):
            text = _decode(data[len(mark) :], codec, name)
            warning = f"file is {name} (with a byte-order mark); Sigma rules are UTF-8" if name else ""
            return text, warning
    if b"\x00" in data:
        if _looks_like_utf16(data):
            raise RuleFileError("file is UTF-16 without a byte-order mark: save it as UTF-8 (or UTF-16 with a BOM)")
        line = data.count(b"\n", 0, data.index(b"\x00")) + 1
        raise RuleFileError("binary file (NUL byte), not a YAML rule", line)
    return _decode(data, "utf-8", "UTF-8"), ""


def _decode(data: bytes, codec: str, name: str) -> str:
    try:
        text = data.decode(codec)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].decode(codec, errors="replace").count("\n") + 1
        raise RuleFileError(f"not {name}: invalid byte 0x{data[exc.start]:02x} at offset {exc.start}", line) from None
    if "\x00" in text:
        position = text.index("\x00")
        raise RuleFileError("binary file (NUL character), not a YAML rule", text.count("\n", 0, position) + 1)
    return text


def _looks_like_utf16(data: bytes) -> bool:
    """ASCII text in UTF-16 has a NUL in every other byte: high bytes first (BE) or second (LE)."""
    sample = data[:512]
    if len(sample) < 4:
        return False
    even, odd = sample[0::2], sample[1::2]
    return even.count(0) > 0.9 * len(even) or odd.count(0) > 0.9 * len(odd)
