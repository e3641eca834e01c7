"""Terminal escaping of untrusted text: what is shown as an escape and what is kept."""

from __future__ import annotations

import unicodedata

import pytest

from provenance._text import printable

HOSTILE = "a\x1b[2K\rPASS\u202e.bin"


def test_a_name_that_redraws_the_line_is_shown_with_escapes():
    assert printable(HOSTILE) == "a\\x1b[2K\\rPASS\\u202e.bin"


@pytest.mark.parametrize(
    "char",
    [*map(chr, range(0x20)), "\x7f", *map(chr, range(0x80, 0xA0)),
     "\u061c", "\u200e", "\u200f", *map(chr, range(0x202A, 0x202F)), *map(chr, range(0x2066, 0x206A)),
     "\u2028", "\u2029", "\udcff"],
)  # fmt: skip
def test_every_control_bidi_and_separator_character_is_escaped(char):
    shown = printable(f"x{char}y")
    assert shown.startswith("x\\") and shown.endswith("y") and char not in shown
    assert all(c.isprintable() for c in shown)


def test_ordinary_text_is_kept_and_escaping_twice_changes_nothing():
    text = "ünïcödé name.txt — 模型 C:\\path 😀"
    assert printable(text) == text
    assert printable(printable(HOSTILE)) == printable(HOSTILE)


def test_keep_leaves_the_named_characters():
    assert printable("line one\nline\ttwo\x1b", keep="\n") == "line one\nline\\ttwo\\x1b"


def test_no_format_character_of_the_bidi_class_slips_through():
    bidi_controls = [chr(c) for c in range(0x110000) if unicodedata.bidirectional(chr(c)) in
                     {"LRE", "RLE", "LRO", "RLO", "PDF", "LRI", "RLI", "FSI", "PDI"}]
    marks = ["\u200e", "\u200f", "\u061c"]
    for char in bidi_controls + marks:
        assert char not in printable(char)
