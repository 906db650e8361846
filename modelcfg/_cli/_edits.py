"""
Commands that edit the config file: ``models set``, ``models fallbacks``, ``models aliases``
and ``models image set``.

Each reads the user's config file, changes it as data, validates the result
(every problem at its JSON path; nothing is written when the result is invalid)
and writes it back atomically in the file's own format, through
:func:`~modelcfg._config._edit.edit_config_file`. A TOML or YAML file with
comments is never rewritten: the edited config goes beside it (``NAME.new``).
With no config file, the first edit creates ``config.json`` where modelcfg looks
for one.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from modelcfg._cli._common import (
    CliError,
    Context,
    Exit,
    Subparsers,
    add_json_flag,
    config_dir,
    config_path,
    emit_json,
)
from modelcfg._config._edit import edit_config_file
from modelcfg._config._file import read_config_data
from modelcfg.exceptions import ConfigError
from modelcfg.typing import JSON

__all__ = ["register_edits"]

Edit = Callable[[dict[str, object]], dict[str, object]]


def register_edits(sub: Subparsers, common: argparse.ArgumentParser) -> None:
    """
    Add the editing subcommands to ``models``.
    """
    setting = sub.add_parser("set", parents=[common], help="set the primary model (agent.model)")
    setting.add_argument("model", metavar="MODEL", help="provider/model or an alias")
    setting.set_defaults(run=run_set)

    fallbacks = sub.add_parser(
        "fallbacks", parents=[common], help="list or change agent.model.fallbacks"
    )
    fsub = fallbacks.add_subparsers(dest="fallbacks_command", metavar="ACTION", required=True)
    listing = fsub.add_parser("list", parents=[common], help="the fallbacks, in order")
    add_json_flag(listing)
    listing.set_defaults(run=run_fallbacks_list)
    adding = fsub.add_parser("add", parents=[common], help="append a fallback")
    adding.add_argument("model", metavar="MODEL", help="provider/model or an alias")
    adding.set_defaults(run=run_fallbacks_add)
    removing = fsub.add_parser("remove", parents=[common], help="remove a fallback")
    removing.add_argument("model", metavar="MODEL", help="the fallback as written in the config")
    removing.set_defaults(run=run_fallbacks_remove)
    clearing = fsub.add_parser("clear", parents=[common], help="remove every fallback")
    clearing.set_defaults(run=run_fallbacks_clear)

    aliases = sub.add_parser("aliases", parents=[common], help="list or change model aliases")
    asub = aliases.add_subparsers(dest="aliases_command", metavar="ACTION", required=True)
    alist = asub.add_parser("list", parents=[common], help="every alias and its model")
    add_json_flag(alist)
    alist.set_defaults(run=run_aliases_list)
    aadd = asub.add_parser("add", parents=[common], help="give a model an alias")
    aadd.add_argument("alias", metavar="ALIAS")
    aadd.add_argument("model", metavar="MODEL", help="provider/model")
    aadd.set_defaults(run=run_aliases_add)
    aremove = asub.add_parser("remove", parents=[common], help="remove an alias")
    aremove.add_argument("alias", metavar="ALIAS")
    aremove.set_defaults(run=run_aliases_remove)

    image = sub.add_parser("image", parents=[common], help="the image model (agent.imageModel)")
    isub = image.add_subparsers(dest="image_command", metavar="ACTION", required=True)
    iset = isub.add_parser("set", parents=[common], help="set the image model's primary")
    iset.add_argument("model", metavar="MODEL", help="provider/model or an alias")
    iset.set_defaults(run=run_image_set)


# --- file access ----------------------------------------------------------------------------------


def _target(context: Context) -> Path:
    path = config_path(context.args, context.environ)
    if path is not None:
        return path
    base = config_dir(context.environ)
    if base is None:
        raise CliError("no config file to edit: pass --config PATH", Exit.CONFIG)
    return base / "config.json"


def _current(context: Context) -> tuple[Path, dict[str, object]]:
    path = _target(context)
    return path, read_config_data(path) if path.exists() else {}


def _apply(context: Context, edit: Edit, done: str) -> int:
    path = _target(context)
    try:
        result = edit_config_file(path, edit)
    except ConfigError:
        raise  # every problem of the edited config, at its path; nothing was written
    except ValueError as exc:  # the edited data cannot be written in the file's format
        raise CliError(f"cannot write {path}: {exc}", Exit.CONFIG) from None
    out = context.out
    if not result.changed:
        out.line(f"{path} already says so; nothing changed.")
        return Exit.OK
    if result.beside:
        out.line(
            f"{done}, in {result.written}: {path} has comments, which rewriting it would lose; "
            "merge the change by hand (or remove the comments and run this again)."
        )
        return Exit.FAILURE
    out.line(f"{done} ({'created' if result.created else 'updated'} {path}).")
    return Exit.OK


def _object(data: dict[str, object], key: str, where: str) -> dict[str, object]:
    value = data.setdefault(key, {})
    if not isinstance(value, dict):
        raise CliError(f"{where} is not an object in the config; fix it first", Exit.CONFIG)
    return value


def _chain(data: dict[str, object], key: str) -> dict[str, object]:
    agent = _object(data, "agent", "$.agent")
    chain = agent.get(key)
    if isinstance(chain, str):
        raise CliError(
            f"$.agent.{key} is a string (a legacy form); run `modelcfg doctor --fix` first",
            Exit.CONFIG,
        )
    return _object(agent, key, f"$.agent.{key}")


def _fallbacks(chain: dict[str, object]) -> list[object]:
    value = chain.setdefault("fallbacks", [])
    if not isinstance(value, list):
        raise CliError("$.agent.model.fallbacks is not a list; fix it first", Exit.CONFIG)
    return value


# --- set ------------------------------------------------------------------------------------------


def run_set(context: Context) -> int:
    """
    ``models set MODEL``: the primary of ``agent.model``; the other fallbacks are kept.

    A model that was a fallback leaves the fallbacks, since a chain names each model once.
    """
    model = str(context.args.model)

    def edit(data: dict[str, object]) -> dict[str, object]:
        chain = _chain(data, "model")
        chain["primary"] = model
        fallbacks = chain.get("fallbacks")
        if isinstance(fallbacks, list) and model in fallbacks:
            fallbacks.remove(model)
        return data

    return _apply(context, edit, f"Set agent.model.primary to {model!r}")


def run_image_set(context: Context) -> int:
    """
    ``models image set MODEL``: the primary of ``agent.imageModel``.
    """
    model = str(context.args.model)

    def edit(data: dict[str, object]) -> dict[str, object]:
        _chain(data, "imageModel")["primary"] = model
        return data

    return _apply(context, edit, f"Set agent.imageModel.primary to {model!r}")


# --- fallbacks ------------------------------------------------------------------------------------


def run_fallbacks_list(context: Context) -> int:
    """
    ``models fallbacks list``: the fallbacks as written, in order.
    """
    path, data = _current(context)
    agent = data.get("agent")
    chain = agent.get("model") if isinstance(agent, dict) else None
    found = chain.get("fallbacks") if isinstance(chain, dict) else None
    items = [str(f) for f in found] if isinstance(found, list) else []
    if context.args.json:
        emit_json(context.out, {"config": str(path), "fallbacks": list[JSON](items)})
    elif not items:
        context.out.line(f"No fallbacks in {path}.")
    else:
        for number, item in enumerate(items, start=1):
            context.out.line(f"{number}. {item}")
    return Exit.OK


def run_fallbacks_add(context: Context) -> int:
    """
    ``models fallbacks add MODEL``: append a fallback (once).
    """
    model = str(context.args.model)

    def edit(data: dict[str, object]) -> dict[str, object]:
        chain = _chain(data, "model")
        fallbacks = _fallbacks(chain)
        if model in fallbacks:
            return data
        if chain.get("primary") == model:
            raise CliError(f"{model!r} is the primary model, not a fallback", Exit.USAGE)
        fallbacks.append(model)
        return data

    return _apply(context, edit, f"Added {model!r} to agent.model.fallbacks")


def run_fallbacks_remove(context: Context) -> int:
    """
    ``models fallbacks remove MODEL``: remove a fallback, written as in the config.
    """
    model = str(context.args.model)

    def edit(data: dict[str, object]) -> dict[str, object]:
        fallbacks = _fallbacks(_chain(data, "model"))
        if model not in fallbacks:
            written = ", ".join(repr(str(f)) for f in fallbacks) or "none"
            raise CliError(
                f"{model!r} is not a fallback (the fallbacks: {written})", Exit.NOT_FOUND
            )
        fallbacks.remove(model)
        return data

    return _apply(context, edit, f"Removed {model!r} from agent.model.fallbacks")


def run_fallbacks_clear(context: Context) -> int:
    """
    ``models fallbacks clear``: no fallbacks.
    """

    def edit(data: dict[str, object]) -> dict[str, object]:
        _fallbacks(_chain(data, "model")).clear()
        return data

    return _apply(context, edit, "Cleared agent.model.fallbacks")


# --- aliases --------------------------------------------------------------------------------------


def _alias_entries(data: dict[str, object]) -> dict[str, str]:
    agent = data.get("agent")
    models = agent.get("models") if isinstance(agent, dict) else None
    if not isinstance(models, dict):
        return {}
    return {
        str(entry["alias"]): str(model)
        for model, entry in models.items()
        if isinstance(entry, dict) and isinstance(entry.get("alias"), str)
    }


def run_aliases_list(context: Context) -> int:
    """
    ``models aliases list``: every alias of ``agent.models`` and its model.
    """
    path, data = _current(context)
    found = _alias_entries(data)
    if context.args.json:
        emit_json(context.out, {"config": str(path), "aliases": dict[str, JSON](found)})
    elif not found:
        context.out.line(f"No aliases in {path}.")
    else:
        context.out.table(("ALIAS", "MODEL"), [[a, m] for a, m in found.items()])
    return Exit.OK


def run_aliases_add(context: Context) -> int:
    """
    ``models aliases add ALIAS MODEL``: ``agent.models[MODEL].alias``.
    """
    alias, model = str(context.args.alias), str(context.args.model)

    def edit(data: dict[str, object]) -> dict[str, object]:
        taken = {a.casefold(): m for a, m in _alias_entries(data).items()}
        if taken.get(alias.casefold(), model) != model:
            raise CliError(
                f"the alias {alias!r} already names {taken[alias.casefold()]!r}; "
                f"remove it first (`modelcfg models aliases remove {alias}`)",
                Exit.USAGE,
            )
        models = _object(_object(data, "agent", "$.agent"), "models", "$.agent.models")
        _object(models, model, f"$.agent.models[{model!r}]")["alias"] = alias
        return data

    return _apply(context, edit, f"Set the alias {alias!r} for {model!r}")


def run_aliases_remove(context: Context) -> int:
    """
    ``models aliases remove ALIAS``: drop the alias (the model's other settings stay).
    """
    alias = str(context.args.alias)

    def edit(data: dict[str, object]) -> dict[str, object]:
        found = {a.casefold(): m for a, m in _alias_entries(data).items()}
        model = found.get(alias.casefold())
        if model is None:
            raise CliError(f"no model has the alias {alias!r}", Exit.NOT_FOUND)
        models = _object(_object(data, "agent", "$.agent"), "models", "$.agent.models")
        entry = _object(models, model, f"$.agent.models[{model!r}]")
        del entry["alias"]
        if not entry:
            del models[model]
        return data

    return _apply(context, edit, f"Removed the alias {alias!r}")
