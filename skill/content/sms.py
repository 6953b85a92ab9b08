"""SMS arithmetic: which characters GSM-7 carries and how many segments a message costs."""

# GSM 03.38 basic set, and the extension set whose characters cost two septets each.
_BASIC = (
    "@\u00a3$\u00a5\u00e8\u00e9\u00f9\u00ec\u00f2\u00c7\n\u00d8\u00f8\r\u00c5\u00e5"
    "\u0394_\u03a6\u0393\u039b\u03a9\u03a0\u03a8\u03a3\u0398\u039e\u00c6\u00e6\u00df\u00c9"
    " !\"#\u00a4%&'()*+,-./0123456789:;<=>?\u00a1ABCDEFGHIJKLMNOPQRSTUVWXYZ\u00c4\u00d6"
    "\u00d1\u00dc\u00a7\u00bfabcdefghijklmnopqrstuvwxyz\u00e4\u00f6\u00f1\u00fc\u00e0"
)
_EXTENDED = "^{}\\[~]|\u20ac\f"
GSM7_CHARS = frozenset(_BASIC) | frozenset(_EXTENDED)


def is_gsm7(text: str) -> bool:
    """True when every character travels in GSM-7."""
    return all(ch in GSM7_CHARS for ch in text)


def segments(text: str) -> int:
    """How many SMS segments the text costs (GSM-7 160/153, else UCS-2 70/67)."""
    if is_gsm7(text):
        units = sum(2 if ch in _EXTENDED else 1 for ch in text)
        single, multi = 160, 153
    else:
        # UCS-2 counts UTF-16 code units: an emoji outside the BMP takes two.
        units = len(text.encode("utf-16-le")) // 2
        single, multi = 70, 67
    if units <= single:
        return 1
    return -(-units // multi)
