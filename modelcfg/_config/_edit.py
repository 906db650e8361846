"""
Editing the user's config file: read, change as data, validate, write back atomically.

:func:`edit_config_file` is the one way commands change a config file
(``catalog promote`` first; any command that edits the config should use it):

1. read and parse the file (JSON, TOML or YAML, by its suffix; a missing file is an
   empty config), under the file's lock so no other edit interleaves;
2. apply a pure *edit* to a copy of the data;
3. validate the result with :func:`~modelcfg.load_config` (every problem, at its
   path): an edit that would make the config invalid changes nothing;
4. write it in the file's own format, atomically (old bytes or new bytes,
   never a mix), keeping the file's permission bits.

Format: a JSON file keeps its key order and its indentation (two spaces, four,
a tab, or one line). A TOML file is written by :func:`dumps_toml`, a small
emitter for what configs hold (tables, arrays, strings, numbers, booleans,
dates), keeping key order.

A YAML file (``modelcfg[yaml]``) is written by PyYAML's ``safe_dump`` in block
style, keeping key order.

Comments: JSON has none. Rewriting a TOML or YAML file would drop its comments,
so they are never lost: when such a file has comments, the edited config is
written **beside** it, as ``NAME.toml.new``, the original is left untouched,
and the result says so; the user merges the change by hand (or deletes the
comments and runs the command again).
"""

from __future__ import annotations

import copy
import datetime
import json
import math
import re
import stat
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Final, Literal

import attrs

from modelcfg._config._file import YAML_SUFFIXES, read_config_data, yaml_module
from modelcfg._config._load import load_config_data
from modelcfg._config._problems import quoted
from modelcfg._fileio import PRIVATE_FILE_MODE, atomic_write, exclusive_lock

__all__ = [
    "ConfigEdit",
    "dumps_toml",
    "dumps_yaml",
    "edit_config_file",
    "has_comments",
    "has_toml_comments",
    "has_yaml_comments",
    "render_config",
]

ConfigFormat = Literal["json", "toml", "yaml"]

_BARE_KEY: Final = re.compile(r"[A-Za-z0-9_-]+\Z")
_ESCAPES: Final = {
    "\\": "\\\\",
    '"': '\\"',
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\f": "\\f",
    "\r": "\\r",
}


@attrs.frozen(kw_only=True)
class ConfigEdit:
    """
    What an edit of a config file did.

    Attributes:
        path: The config file.
        format: ``json`` or ``toml``.
        written: The file written: *path*, or ``NAME.toml.new`` beside a TOML file
            with comments; ``None`` when the edit changed nothing.
        created: Whether *path* did not exist before.
    """

    path: Path
    format: ConfigFormat
    written: Path | None
    created: bool = False

    @property
    def changed(self) -> bool:
        """
        Whether anything was written.
        """
        return self.written is not None

    @property
    def beside(self) -> bool:
        """
        Whether the edited config went beside the file, to keep the file's comments.
        """
        return self.written is not None and self.written != self.path


def _format_of(path: Path) -> ConfigFormat:
    suffix = path.suffix.lower()
    if suffix == ".toml":
        return "toml"
    return "yaml" if suffix in YAML_SUFFIXES else "json"


def has_yaml_comments(text: str) -> bool:
    """
    Whether a YAML text may have a comment: a ``#`` at a line's start or after a space or tab.

    It errs on the side of comments (a ``#`` inside a quoted string counts), so a
    file is never rewritten when it might lose one.
    """
    return re.search(r"(?:^|[ \t])#", text, flags=re.M) is not None


def dumps_yaml(data: Mapping[str, object], source: str) -> str:
    """
    *data* as YAML block text, keys in their order, non-ASCII kept.

    Raises:
        ConfigError: PyYAML is not installed.
    """
    yaml = yaml_module(source)
    text: str = yaml.safe_dump(
        _plain(data), sort_keys=False, allow_unicode=True, default_flow_style=False
    )
    return text


def _plain(value: object) -> object:
    """
    *value* with every mapping a ``dict`` and every sequence a ``list``, as ``safe_dump`` needs.
    """
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def has_comments(text: str, fmt: ConfigFormat) -> bool:
    """
    Whether rewriting a config text of format *fmt* could lose comments (JSON has none).
    """
    if fmt == "toml":
        return has_toml_comments(text)
    return fmt == "yaml" and has_yaml_comments(text)


def render_config(path: Path, data: Mapping[str, object], original: str | None) -> tuple[Path, str]:
    """
    Where and how to write *data* as the new content of the config file *path*.

    The text is in *path*'s format (JSON keeps *original*'s indentation). The
    target is *path*, or ``NAME.new`` beside it when *original* has comments that
    rewriting would lose.

    Raises:
        ValueError: *data* holds something the format cannot (TOML has no null).
        ConfigError: The file is YAML and PyYAML is not installed.
    """
    fmt = _format_of(path)
    text = _render(data, fmt, original, str(path))
    target = path
    if original is not None and has_comments(original, fmt):
        target = path.with_name(path.name + ".new")
    return target, text


def _json_indent(text: str) -> int | str | None:
    """
    The indentation of a JSON text: the first indented line's, or ``None`` for one line.
    """
    for line in text.splitlines()[1:]:
        stripped = line.lstrip(" \t")
        if stripped and len(stripped) < len(line):
            indent = line[: len(line) - len(stripped)]
            return indent if "\t" in indent else len(indent)
    return None


def dumps_json(data: Mapping[str, object], *, indent: int | str | None = 2) -> str:
    """
    *data* as JSON text with a final newline, keys in their order, non-ASCII kept.
    """
    return json.dumps(data, indent=indent, ensure_ascii=False) + "\n"


# --------------------------------------------------------------------------- TOML


def has_toml_comments(text: str) -> bool:
    """
    Whether a TOML text has a comment: a ``#`` outside every string.
    """
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char == "#":
            return True
        if char in "\"'":
            triple = text.startswith(char * 3, i)
            end_mark = char * 3 if triple else char
            i += len(end_mark)
            while i < n:
                if char == '"' and text[i] == "\\":
                    i += 2
                    continue
                if text.startswith(end_mark, i):
                    i += len(end_mark)
                    break
                if not triple and text[i] == "\n":
                    break  # an unterminated string: tomllib refused the file already
                i += 1
            continue
        i += 1
    return False


def _toml_string(text: str) -> str:
    out = []
    for char in text:
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def _toml_key(key: object, path: str) -> str:
    if not isinstance(key, str):
        raise ValueError(f"{path}: a TOML key must be text, not {key!r}")
    return key if _BARE_KEY.match(key) else _toml_string(key)


def _toml_value(value: object, path: str) -> str:
    match value:
        case None:
            raise ValueError(f"{path}: TOML has no null; leave the key out instead")
        case bool():
            return "true" if value else "false"
        case int():
            return str(value)
        case float():
            if math.isnan(value):
                return "nan"
            if math.isinf(value):
                return "inf" if value > 0 else "-inf"
            return repr(value)
        case str():
            return _toml_string(value)
        case datetime.datetime() | datetime.date() | datetime.time():
            return value.isoformat()
        case Mapping():
            items = ", ".join(
                f"{_toml_key(k, path)} = {_toml_value(v, _child(path, k))}"
                for k, v in value.items()
            )
            return "{ " + items + " }" if items else "{}"
        case list() | tuple():
            return (
                "[" + ", ".join(_toml_value(v, f"{path}[{i}]") for i, v in enumerate(value)) + "]"
            )
        case _:
            raise ValueError(f"{path}: {type(value).__name__} cannot be written in TOML")


def _child(path: str, key: object) -> str:
    if isinstance(key, str) and key.isidentifier():
        return f"{path}.{key}"
    return f"{path}[{quoted(str(key))}]"


def _is_table_array(value: object) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, Mapping) for v in value)


def _emit_table(
    lines: list[str], header: Sequence[str], table: Mapping[str, object], path: str, *, array: bool
) -> None:
    scalars = [
        (k, v) for k, v in table.items() if not isinstance(v, Mapping) and not _is_table_array(v)
    ]
    nested = [(k, v) for k, v in table.items() if isinstance(v, Mapping) or _is_table_array(v)]
    if header and (array or scalars or not nested):
        if lines:
            lines.append("")
        name = ".".join(header)
        lines.append(f"[[{name}]]" if array else f"[{name}]")
    for key, value in scalars:
        lines.append(f"{_toml_key(key, path)} = {_toml_value(value, _child(path, key))}")
    for key, value in nested:
        where = _child(path, key)
        sub = [*header, _toml_key(key, path)]
        if isinstance(value, Mapping):
            _emit_table(lines, sub, value, where, array=False)
        elif isinstance(value, list):
            for i, item in enumerate(value):
                _emit_table(lines, sub, item, f"{where}[{i}]", array=True)


def dumps_toml(data: Mapping[str, object]) -> str:
    """
    *data* as TOML text: scalars first, then one ``[table]`` per object, in key order.

    ``tomllib.loads(dumps_toml(data)) == data`` for every value a config holds.

    Raises:
        ValueError: *data* holds something TOML cannot (``null``, a non-text key).
    """
    lines: list[str] = []
    _emit_table(lines, [], data, "$", array=False)
    return "\n".join(lines) + "\n" if lines else ""


# --------------------------------------------------------------------------- editing


def _render(
    data: Mapping[str, object], fmt: ConfigFormat, original: str | None, source: str
) -> str:
    if fmt == "toml":
        return dumps_toml(data)
    if fmt == "yaml":
        return dumps_yaml(data, source)
    indent = _json_indent(original) if original is not None else 2
    return dumps_json(data, indent=indent)


def edit_config_file(
    path: str | Path,
    edit: Callable[[dict[str, object]], dict[str, object]],
    *,
    lock_timeout_s: float = 10.0,
) -> ConfigEdit:
    """
    Apply *edit* to the config file at *path*, validated and written atomically.

    Args:
        path: A ``.json`` or ``.toml`` file; a missing file is edited as an empty config.
        edit: A pure function from the config's data (a copy) to the new data.
        lock_timeout_s: How long to wait for another edit of the same file.

    Returns:
        What was written, and where (beside a TOML file with comments, see the module).

    Raises:
        ConfigError: The file cannot be read or parsed, or the edited config is
            invalid; nothing is written.
        ValueError: The edited data cannot be written in the file's format.
        LockTimeoutError: Another edit held the file too long.
        OSError: The file cannot be written.
    """
    path = Path(path)
    fmt = _format_of(path)
    with exclusive_lock(path, timeout_s=lock_timeout_s):
        exists = path.exists()
        original = path.read_text(encoding="utf-8") if exists else None
        data = read_config_data(path) if exists else {}
        edited = edit(copy.deepcopy(data))
        if exists and edited == data:
            return ConfigEdit(path=path, format=fmt, written=None)
        load_config_data(edited, source=str(path), path=str(path))
        target, text = render_config(path, edited, original)
        mode = stat.S_IMODE(path.stat().st_mode) if exists else PRIVATE_FILE_MODE
        atomic_write(target, text.encode("utf-8"), mode=mode)
        return ConfigEdit(path=path, format=fmt, written=target, created=not exists)
