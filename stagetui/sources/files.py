"""Read config files (YAML, JSON, TOML, INI, .env) into nested maps; write JSON trees atomically."""

from __future__ import annotations

import configparser
import datetime as dt
import json
import os
import re
import tempfile
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path

import yaml

# The C loader is ~4x faster; PyYAML built without libyaml only has the pure-Python one.
YAML_LOADER: type[yaml.SafeLoader] | type[yaml.CSafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class ConfigSourceError(Exception):
    """A config file could not be read. str() reads `app.yaml:12: message` when the line is known."""

    def __init__(self, message: str, *, path: Path | None = None, line: int | None = None) -> None:
        self.message = message
        self.path = path
        self.line = line
        where = path.name if path is not None else ""
        if where and line is not None:
            where += f":{line}"
        super().__init__(f"{where}: {message}" if where else message)


def _load_yaml(path: Path, text: str) -> object:
    try:
        return yaml.load(text, Loader=YAML_LOADER)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        detail = exc.problem or exc.context or "syntax error"
        raise ConfigSourceError(f"invalid YAML: {detail}", path=path, line=line) from exc
    except yaml.YAMLError as exc:
        raise ConfigSourceError(f"invalid YAML: {exc}", path=path) from exc


def _load_json(path: Path, text: str) -> object:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigSourceError(f"invalid JSON: {exc.msg}", path=path, line=exc.lineno) from exc


_TOML_LINE = re.compile(r"at line (\d+)")


def _load_toml(path: Path, text: str) -> object:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # Python 3.11's TOMLDecodeError carries the position only inside its message.
        found = _TOML_LINE.search(str(exc))
        line = int(found.group(1)) if found else None
        raise ConfigSourceError(f"invalid TOML: {exc}", path=path, line=line) from exc


class _RawConfigParser(configparser.ConfigParser):
    """Keeps key case (the default lowercases) so drift shows keys as written."""

    def optionxform(self, optionstr: str) -> str:
        return optionstr


def _load_ini(path: Path, text: str) -> object:
    # No interpolation ('%' is common in log formats) and no DEFAULT inheritance: [DEFAULT] stays a plain
    # section, so one changed default is reported once rather than once per section.
    parser = _RawConfigParser(interpolation=None, default_section="\x00no-default-section")
    try:
        parser.read_string(text, source=path.name)
    except configparser.Error as exc:
        line = getattr(exc, "lineno", None)
        detail = exc.message.splitlines()[0]
        errors = getattr(exc, "errors", None)  # ParsingError: [(line number, line text), ...]
        if errors:
            line, bad = errors[0]
            # Never the line itself: configuration lines carry secrets, and errors end up in CI logs.
            detail = (
                f"cannot parse this line ({len(bad.strip())} characters; not shown, it may hold a secret)"
            )
        raise ConfigSourceError(f"invalid INI: {detail}", path=path, line=line) from exc
    return {section: dict(parser.items(section)) for section in parser.sections()}


_ENV_LINE = re.compile(r"^\s*(?:export\s+)?(?P<key>[A-Za-z_][A-Za-z0-9_]*)\s*=(?P<value>.*?)\s*$")
_ENV_DOUBLE_QUOTED = re.compile(r'^"(?P<body>(?:[^"\\]|\\.)*)"\s*(?:#.*)?$')
_ENV_SINGLE_QUOTED = re.compile(r"^'(?P<body>[^']*)'\s*(?:#.*)?$")
_ENV_ESCAPES = {"n": "\n", "t": "\t", '"': '"', "\\": "\\"}


def _env_value(raw: str) -> str | None:
    """The value of one KEY=VALUE line, or None when its quoting is broken."""
    quoted = raw.lstrip()
    if quoted.startswith("'"):  # literal, as in the shell
        single = _ENV_SINGLE_QUOTED.match(quoted)
        return single["body"] if single else None
    if quoted.startswith('"'):
        double = _ENV_DOUBLE_QUOTED.match(quoted)
        if double is None:
            return None
        return re.sub(r"\\(.)", lambda m: _ENV_ESCAPES.get(m[1], m[0]), double["body"])
    # Unquoted: '#' starts a comment only after whitespace (`KEY= # note`), so `pa#ss` stays intact.
    return re.split(r"\s+#", raw, maxsplit=1)[0].strip()


def _load_env(path: Path, text: str) -> object:
    values: dict[str, object] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _ENV_LINE.match(line)
        value = _env_value(match["value"]) if match else None
        if match is None or value is None:
            # The line is not quoted back: .env lines are where secrets live, and errors reach CI logs.
            key = match["key"] if match else None
            what = f"the value of {key} does not parse (unclosed quote?)" if key else "expected KEY=VALUE"
            raise ConfigSourceError(what, path=path, line=number)
        values[match["key"]] = value  # a repeated key overrides, as when the shell sources the file
    return values


_LOADERS: dict[str, Callable[[Path, str], object]] = {
    ".yaml": _load_yaml,
    ".yml": _load_yaml,
    ".json": _load_json,
    ".toml": _load_toml,
    ".ini": _load_ini,
    ".cfg": _load_ini,
    ".env": _load_env,
}


def _suffix(path: Path) -> str:
    # `.env` has no suffix for pathlib (it is a dotfile name), but it is the most common env file.
    return ".env" if path.name == ".env" else path.suffix.lower()


def is_supported(path: Path) -> bool:
    return _suffix(path) in _LOADERS


def namespace_of(path: Path) -> str:
    """The key a file's map gets in a directory tree: its stem, and `env` for `.env`."""
    return "env" if path.name == ".env" else path.stem


def load_file(path: Path) -> dict[str, object]:
    """Parse one config file into a map; the format follows the file name."""
    loader = _LOADERS.get(_suffix(path))
    if loader is None:
        raise ConfigSourceError(f"unsupported config format {path.suffix or path.name!r}", path=path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError as exc:
        raise ConfigSourceError("file not found", path=path) from exc
    except OSError as exc:
        raise ConfigSourceError(f"cannot read: {exc.strerror or exc}", path=path) from exc
    try:
        text = raw.decode("utf-8-sig")  # -sig: tolerate a BOM from Windows editors
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise ConfigSourceError(f"not UTF-8 (byte 0x{raw[exc.start]:02x})", path=path, line=line) from exc
    data = loader(path, text)
    if data is None:  # an empty or comment-only YAML file
        return {}
    if not isinstance(data, dict):
        raise ConfigSourceError(f"top level must be a mapping, not {type(data).__name__}", path=path)
    return data


def load_tree(path: Path) -> dict[str, object]:
    """A file's map, or for a directory `{namespace: map}` over the supported files directly inside it."""
    if path.is_file():
        return load_file(path)
    if not path.is_dir():
        raise ConfigSourceError("no such file or directory", path=path)
    tree: dict[str, object] = {}
    owners: dict[str, Path] = {}
    for child in sorted(path.iterdir()):
        if not child.is_file() or not is_supported(child):
            continue
        namespace = namespace_of(child)
        if namespace in owners:
            raise ConfigSourceError(
                f"namespace {namespace!r} is defined by both {owners[namespace].name} and {child.name}",
                path=path,
            )
        owners[namespace] = child
        tree[namespace] = load_file(child)
    return tree


def _json_default(value: object) -> object:
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, dt.date | dt.time):  # YAML and TOML load dates as objects
        return value.isoformat()
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def write_json_tree(tree: Mapping[str, object], path: Path) -> None:
    """Write pretty JSON so that readers see either the old file or the new one, never a partial write."""
    text = json.dumps(dict(tree), indent=2, ensure_ascii=False, default=_json_default) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    # Same directory as the target, so the final rename never crosses file systems.
    handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    temp = Path(name)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        temp.replace(path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
