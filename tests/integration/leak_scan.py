"""A leak scan: production PII values and secret values searched as bytes wherever stagetui writes.

Needles are the sensitive values; a finding is a needle met where no allowance permits it. The scan is
byte-level on purpose: a SQLite file's free pages or WAL, a log line or a JSON-escaped export all count.

Which production values are needles (the distinguishing rule): a value of a column the masking rules
change, at least MIN_LENGTH characters long, that the masker could not have produced, even as part of
one of its outputs (so finding it proves it came from production, not from a coincidence):
- fake_name: not inside any "First Last" of the masker's word lists (they overlap the sample's);
- fake_address: not "<number> <a prefix of the masker's 'Street Suffix' pairs>" (its numbers are any);
- fake_email: not of the masker's form (first.last.8-hex@example.com); matched case-insensitively;
- fake_phone: every value (a fake keeps the format and country code, its digits come from an HMAC: equal
  to one production number about once in 10^7 values for the narrowest sample range);
- date_shift: none (a shifted date is often another row's real date, and dates fill every timestamp; the
  project's no-leak proof checks them row by row against production);
- shorter values (card_last4) and digit-only values under 10 digits: none (they collide with counts,
  ports and amounts);
- hash, null, constant: every value, except the constant itself.
Secrets are needles when at least MIN_SECRET_LENGTH characters long (a shorter one would collide); an
environment's own secrets (its config's, by stagetui's own naming rule) are a category of their own.
"""

from __future__ import annotations

import base64
import fnmatch
import functools
import json
import re
import sqlite3
import stat
import urllib.parse
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stagetui.domain import anonymize
from stagetui.domain.anonymize import ColumnRule, MaskKind
from stagetui.domain.secrets import is_secret_key

PII = "pii"
"""Category of production personal data (values of masked columns)."""
SECRET = "secret"
"""Category of secrets (production config secrets, keys, tokens, passwords)."""

MIN_LENGTH = 8
MIN_SECRET_LENGTH = 6
SECRET_PREFIX = 16
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}([T ].*)?")
_FAKE_EMAIL = re.compile(r"[a-z]+\.[a-z]+\.[0-9a-f]{8}@example\.com")
_NUMBERED = re.compile(r"\d{1,4} (?P<rest>.+)")
_CONTEXT = 24  # bytes shown either side of a finding


@dataclass(frozen=True)
class Needle:
    value: str
    category: str
    origin: str
    """Where the value comes from, e.g. `customers.email` or `env.PAYMENT_API_KEY`."""
    case_insensitive: bool = False

    def forms(self) -> frozenset[bytes]:
        """The byte strings it can take in a file: UTF-8, JSON-escaped, percent-encoded, base64 (as in a
        Kubernetes Secret), and for a long secret its first SECRET_PREFIX characters (a table cell cut
        short with "…" shows no more). Lower-cased when it is matched case-insensitively."""
        texts = {self.value, json.dumps(self.value)[1:-1], urllib.parse.quote(self.value, safe="")}
        if self.category == SECRET and len(self.value) >= 3 * SECRET_PREFIX // 2:
            texts.add(self.value[:SECRET_PREFIX])
        forms = {text.encode() for text in texts} | {base64.b64encode(self.value.encode())}
        return frozenset(form.lower() for form in forms) if self.case_insensitive else frozenset(forms)


@dataclass(frozen=True)
class Finding:
    where: str
    needle: Needle
    context: bytes

    def __str__(self) -> str:
        needle = self.needle
        return f"{self.where}: {needle.category} {needle.origin} {needle.value!r} in {self.context!r}"


@dataclass(frozen=True)
class Allowance:
    """Places (globs over paths relative to the scanned root, or labels) where a category may appear."""

    pattern: str
    categories: frozenset[str]
    why: str


@dataclass
class Scanner:
    needles: Sequence[Needle]
    allowances: Sequence[Allowance] = ()
    places: list[str] = field(default_factory=list)
    """Every place scanned, for the report (and to prove the scan saw what it should)."""
    _exact: _Matcher = field(init=False)
    _folded: _Matcher = field(init=False)

    def __post_init__(self) -> None:
        self._exact = _Matcher([n for n in self.needles if not n.case_insensitive])
        self._folded = _Matcher([n for n in self.needles if n.case_insensitive])

    def allowed(self, where: str, needle: Needle) -> bool:
        return any(
            needle.category in allowance.categories and fnmatch.fnmatchcase(where, allowance.pattern)
            for allowance in self.allowances
        )

    def scan_bytes(self, where: str, data: bytes) -> list[Finding]:
        """One finding per needle met in `data` outside the places allowed for its category."""
        self.places.append(where)
        found: dict[Needle, Finding] = {}
        for matcher, haystack in ((self._exact, data), (self._folded, data.lower())):
            for needle, at, length in matcher.matches(haystack):
                if needle not in found and not self.allowed(where, needle):
                    context = data[max(0, at - _CONTEXT) : at + length + _CONTEXT]
                    found[needle] = Finding(where, needle, context)
        return list(found.values())

    def scan_text(self, where: str, text: str | bytes) -> list[Finding]:
        return self.scan_bytes(where, text.encode() if isinstance(text, str) else text)

    def scan_tree(self, root: Path, label: str = "") -> list[Finding]:
        """Every regular file under `root` (symlinks, sockets and pipes skipped; a file that vanishes
        while walking is skipped too: the state directory is live). Places are `label/relative path`."""
        found = []
        for path in sorted(root.rglob("*")):
            try:
                if not stat.S_ISREG(path.lstat().st_mode):
                    continue
                data = path.read_bytes()
            except FileNotFoundError:
                continue
            relative = path.relative_to(root).as_posix()
            found += self.scan_bytes(f"{label}/{relative}" if label else relative, data)
        return found


class _Matcher:
    """Every needle form at once: one regular expression shaped as a trie of the forms, so a search costs
    one pass over the bytes whatever the number of needles (a find() per needle took a minute on a few
    PostgreSQL database directories), with re's skipping of bytes no form starts with."""

    def __init__(self, needles: Sequence[Needle]) -> None:
        self._by_form: dict[bytes, list[Needle]] = {}
        for needle in needles:
            for form in needle.forms():
                self._by_form.setdefault(form, []).append(needle)
        trie: dict[int, Any] = {}
        for form in self._by_form:
            node = trie
            for byte in form:
                node = node.setdefault(byte, {})
            node[_END] = {}
        self._pattern = re.compile(_trie_regex(trie)) if self._by_form else None

    def matches(self, data: bytes) -> Iterator[tuple[Needle, int, int]]:
        """(needle, offset, length) of every form in `data`, overlapping ones included: the search
        restarts one byte after each match, and every form that is a prefix of the match counts too."""
        if self._pattern is None:
            return
        position = 0
        while (match := self._pattern.search(data, position)) is not None:
            text = match.group()
            for end in range(1, len(text) + 1):
                for needle in self._by_form.get(text[:end], ()):
                    yield needle, match.start(), end
            position = match.start() + 1


_END = -1  # a trie key no byte can be: a form ends at this node


def _trie_regex(node: dict[int, Any]) -> bytes:
    branches = [re.escape(bytes([byte])) + _trie_regex(child) for byte, child in node.items() if byte != _END]
    if not branches:
        return b""
    body = branches[0] if len(branches) == 1 else b"(?:" + b"|".join(branches) + b")"
    if _END in node:  # a form ends here, a longer one goes on: the longer is tried first (greedy)
        return b"(?:" + body + b")?"
    return body


def _producible(value: str, kind: MaskKind, constant: str | None) -> bool:
    """Whether the masker could have written `value` (or a text containing it) for this kind of rule."""
    if kind is MaskKind.FAKE_NAME:
        return value in _fake_names()
    if kind is MaskKind.FAKE_ADDRESS:
        numbered = _NUMBERED.fullmatch(value)
        streets = _fake_streets()
        return value in streets or (numbered is not None and f"\n{numbered['rest']}" in streets)
    if kind is MaskKind.FAKE_EMAIL:
        return _FAKE_EMAIL.fullmatch(value.lower()) is not None
    if kind is MaskKind.CONSTANT:
        return value == constant
    return False


@functools.cache
def _fake_names() -> str:
    """Every name the masker can write, one a line: a value inside one of them may be a fake's part."""
    return "\n".join(f"{f} {last}" for f in anonymize.FIRST_NAMES for last in anonymize.LAST_NAMES)


@functools.cache
def _fake_streets() -> str:
    """Every street part of a fake address, each after a newline: a newline and X find a part starting
    with X."""
    return "".join(f"\n{s} {x}" for s in anonymize.STREET_NAMES for x in anonymize.STREET_SUFFIXES)


def distinguishing(value: str, kind: MaskKind, constant: str | None = None) -> bool:
    """The rule of the module docstring: finding this production value proves a leak."""
    if kind in (MaskKind.KEEP, MaskKind.DATE_SHIFT) or len(value) < MIN_LENGTH or _DATE.fullmatch(value):
        return False
    if re.fullmatch(r"[\d\s+()-]*", value) and sum(ch.isdigit() for ch in value) < 10:
        return False
    return not _producible(value, kind, constant)


def pii_needles(production: Path, rules: Iterable[ColumnRule]) -> list[Needle]:
    """The distinguishing values of every masked column of a SQLite production."""
    needles: dict[str, Needle] = {}
    with closing(sqlite3.connect(f"file:{production}?mode=ro", uri=True)) as conn:
        for rule in rules:
            if rule.kind is MaskKind.KEEP:
                continue
            query = f'SELECT DISTINCT "{rule.column}" FROM "{rule.table}" WHERE "{rule.column}" IS NOT NULL'
            for (raw,) in conn.execute(query):
                value = str(raw)
                if distinguishing(value, rule.kind, rule.value) and value not in needles:
                    email = rule.kind is MaskKind.FAKE_EMAIL or "@" in value
                    needles[value] = Needle(value, PII, rule.qualified, case_insensitive=email)
    return list(needles.values())


def config_secret_needles(tree: Mapping[str, object], patterns: Sequence[str] = ()) -> list[Needle]:
    """Values of secret keys of a config tree (as stagetui recognises them), and passwords inside URLs."""
    needles = []

    def walk(node: object, path: str) -> None:
        if isinstance(node, Mapping):
            for key, child in node.items():
                walk(child, f"{path}.{key}" if path else str(key))
        elif isinstance(node, list):
            for child in node:
                walk(child, path)
        elif node is not None:
            if is_secret_key(path, patterns):
                needles.append(secret_needle(str(node), path))
            needles.extend(secret_needle(password, f"{path} (password)") for password in url_passwords(node))

    walk(tree, "")
    return [needle for needle in needles if len(needle.value) >= MIN_SECRET_LENGTH]


def url_passwords(value: object) -> list[str]:
    """Passwords in the userinfo of URLs inside a text."""
    if not isinstance(value, str):
        return []
    return [
        urllib.parse.unquote(m) for m in re.findall(r"[A-Za-z][\w+.\-]*://[^:/?#@\s]*:([^/\s@]+)@", value)
    ]


def secret_needle(value: str, origin: str) -> Needle:
    return Needle(value, SECRET, origin)
