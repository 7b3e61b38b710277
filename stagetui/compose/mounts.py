"""A service's `volumes:`: named volumes of the file, bind mounts and anonymous volumes."""

from __future__ import annotations

from collections.abc import Collection

from stagetui.compose.model import VolumeMount
from stagetui.compose.unsupported import VOLUME_TYPES
from stagetui.compose.values import Node

LONG_SYNTAX_KEYS = ("read_only", "source", "target", "type")
_MODES = {"ro": True, "rw": False}
_SHORT_FORMS = '"name:/path", "./dir:/path", "/host/dir:/path" or "/path", optionally with :ro or :rw'


def parse_mounts(node: Node, declared_volumes: Collection[str]) -> tuple[VolumeMount, ...]:
    if node.is_null:
        return ()
    mounts = []
    for item in node.sequence():
        if isinstance(item.value, dict):
            mounts.append(_long_syntax(item, declared_volumes))
        else:
            mounts.append(_short_syntax(item, item.text(), declared_volumes))
    return tuple(mounts)


def _short_syntax(node: Node, text: str, declared_volumes: Collection[str]) -> VolumeMount:
    parts = text.split(":")
    if len(parts) == 1:
        return VolumeMount(target=_target(node, text))
    if len(parts) > 3:
        raise node.error(f"{text!r} is not a volume mount; use {_SHORT_FORMS}")
    source, target = parts[0], _target(node, parts[1])
    mode = parts[2] if len(parts) == 3 else "rw"
    if mode not in _MODES:
        raise node.error(f"volume option {mode!r} is not supported; use ro or rw")
    if _is_host_path(source):
        return VolumeMount(target, _host_path(node, source), "bind", _MODES[mode])
    return VolumeMount(target, _named_volume(node, source, declared_volumes), "volume", _MODES[mode])


def _long_syntax(node: Node, declared_volumes: Collection[str]) -> VolumeMount:
    fields = node.fields(LONG_SYNTAX_KEYS, {"bind": "not supported (yet)", "volume": "not supported (yet)"})
    kind_node = node.required(fields, "type")
    kind = kind_node.text()
    if kind in VOLUME_TYPES:
        raise kind_node.error(f"volume type {kind!r} is {VOLUME_TYPES[kind]}; use volume or bind")
    if kind not in {"volume", "bind"}:
        raise kind_node.error(f"unknown volume type {kind!r}; use volume or bind")
    target = _target(node.required(fields, "target"), node.required(fields, "target").text())
    read_only = fields["read_only"].boolean() if "read_only" in fields else False
    source = fields.get("source")
    if kind == "bind":
        path_node = node.required(fields, "source")
        return VolumeMount(target, _host_path(path_node, path_node.text()), "bind", read_only)
    if source is None or source.is_null:
        return VolumeMount(target, None, "volume", read_only)
    return VolumeMount(target, _named_volume(source, source.text(), declared_volumes), "volume", read_only)


def _target(node: Node, path: str) -> str:
    if not path.startswith("/"):
        raise node.error(f"the path inside the container must be absolute (got {path!r})")
    return path


def _is_host_path(source: str) -> bool:
    return source.startswith((".", "/", "~"))


def _host_path(node: Node, path: str) -> str:
    """Absolute; relative paths are relative to the compose file's directory."""
    if path.startswith("~"):
        raise node.error(f"home-relative paths are not supported ({path!r}); use a path relative to the file")
    return str((node.source.directory / path).resolve())


def _named_volume(node: Node, name: str, declared_volumes: Collection[str]) -> str:
    if name not in declared_volumes:
        declared = ", ".join(declared_volumes) or "none"
        raise node.error(
            f"volume {name!r} is not declared under the top-level `volumes` (declared: {declared})"
        )
    return name
