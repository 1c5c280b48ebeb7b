"""File names for outputs named after user text (place names, image files) that never collide.

The rule (used by ``shdd-geo locate`` and ``shdd-geo export``):

1. A name is refused (``ValueError``) if it is empty, only whitespace, or has
   no letter or digit at all (``".."``, ``"!?"``): it names no place.
2. A name made only of ASCII letters, digits, ``_`` and ``-``, at most 80
   characters long and not ending in ``-`` plus 8 hex digits, is its own stem:
   ``"Paris"`` -> ``Paris``.
3. Any other name keeps its letters and digits (other runs of characters
   become one ``_``, cut at 71 characters) and gets ``-`` plus the first 8 hex
   digits of the SHA-256 of its UTF-8 text: ``"Paris!"`` -> ``Paris-3acefbef``,
   ``"St. Louis"`` and ``"St/Louis"`` -> ``St_Louis-...`` with different
   hashes.  Stems stay within 80 characters.

Different names thus get different stems (two names sharing a stem need a
SHA-256 prefix collision), and the stem is reversible: a stem without a hash
*is* the name; a stem with one is matched back by hashing the candidate
names (:func:`stem_matches`), and every file written also stores the name
itself (NetCDF ``attrs["text"]``, GeoJSON ``query``, the ``--json`` record).
:func:`output_stems` adds the hash to every member of a batch whose stems
would coincide on a case-insensitive file system (``Paris``, ``PARIS``).

Examples
--------
>>> output_stems(["Paris", "Paris!", "Paris, Texas", "Paris Texas"])
['Paris', 'Paris-3acefbef', 'Paris_Texas-cf7a7b60', 'Paris_Texas-12085079']
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

__all__ = ["MAX_STEM", "check_name", "output_stem", "output_stems", "stem_matches"]

#: Longest stem (characters), with its hash suffix.
MAX_STEM = 80
_PLAIN = re.compile(r"[A-Za-z0-9_-]+")
_HASHED = re.compile(r".*-[0-9a-f]{8}")
_OTHER = re.compile(r"[^\w]+", flags=re.UNICODE)


def check_name(text, what: str = "name") -> str:
    """``text`` if it can name an output file; ``ValueError`` naming ``what`` otherwise.

    Examples
    --------
    >>> check_name("Kyoto")
    'Kyoto'
    >>> check_name("..", "name 2")
    Traceback (most recent call last):
    ...
    ValueError: name 2 '..' has no letter or digit; give a place name
    """
    if not isinstance(text, str):
        raise TypeError(f"{what} must be a str, got {type(text).__name__}")
    if not text.strip():
        raise ValueError(f"{what} {text!r} is empty or only whitespace; give a place name")
    if not any(c.isalnum() for c in text):
        raise ValueError(f"{what} {text!r} has no letter or digit; give a place name")
    return text


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]


def output_stem(text: str, *, hashed: bool = False) -> str:
    """The file stem of ``text`` (see the module docstring); ``hashed`` forces the hash suffix.

    Examples
    --------
    >>> output_stem("Kyoto"), output_stem("St. Louis"), output_stem("St Louis")
    ('Kyoto', 'St_Louis-03c6bd10', 'St_Louis-4f0aa46d')
    >>> len(output_stem("x" * 200))
    80
    """
    check_name(text)
    if not hashed and _PLAIN.fullmatch(text) and len(text) <= MAX_STEM and not _HASHED.fullmatch(text):
        return text
    readable = _OTHER.sub("_", unicodedata.normalize("NFC", text)).strip("_") or "name"
    return f"{readable[:MAX_STEM - 9].rstrip('_') or 'name'}-{_digest(text)}"


def output_stems(texts) -> list[str]:
    """:func:`output_stem` of each name; names whose stems coincide ignoring case all get the hash.

    The same name given twice gets the same stem (the same output).

    Examples
    --------
    >>> output_stems(["Paris", "PARIS", "Lyon", "Paris"])
    ['Paris-5dd272b4', 'PARIS-e50b8f11', 'Lyon', 'Paris-5dd272b4']
    """
    texts = list(texts)
    stems = [output_stem(t) for t in texts]
    owners: dict[str, set[str]] = {}
    for t, s in zip(texts, stems):
        owners.setdefault(unicodedata.normalize("NFC", s).casefold(), set()).add(t)
    return [output_stem(t, hashed=True) if len(owners[unicodedata.normalize("NFC", s).casefold()]) > 1 else s
            for t, s in zip(texts, stems)]


def stem_matches(stem: str, text: str) -> bool:
    """Whether ``stem`` is a stem :func:`output_stems` may give ``text`` (reverses the naming).

    Examples
    --------
    >>> stem_matches(output_stem("St. Louis"), "St. Louis"), stem_matches(output_stem("St. Louis"), "St Louis")
    (True, False)
    """
    return stem in (output_stem(text), output_stem(text, hashed=True))
