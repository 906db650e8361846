"""
``modelcfg init``: write a starter config from the provider keys found in the environment.

Only the names of models go into the config: a key stays where it is (the
environment, or the auth store after ``modelcfg login``), never in the file.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping

from modelcfg._catalog._curated import curated_catalog
from modelcfg._catalog._records import ModelStatus
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
from modelcfg._config._providers import BUILTIN_PROVIDERS
from modelcfg._fileio import backup_copy
from modelcfg.exceptions import ConfigError
from modelcfg.typing import JSON

__all__ = ["register", "starter_config"]

_PREFERENCE = ("anthropic", "openai", "google", "openrouter")
"""Which provider's model leads the chain when several keys are set; the others follow."""


def register(subparsers: Subparsers, common: argparse.ArgumentParser) -> None:
    """
    Add ``init``.
    """
    init = subparsers.add_parser(
        "init",
        parents=[common],
        help="write a starter config from the provider keys in the environment",
    )
    init.add_argument(
        "--force", action="store_true", help="replace an existing config file (after a backup)"
    )
    add_json_flag(init)
    init.set_defaults(run=run_init)


def starter_config(environ: Mapping[str, str]) -> tuple[list[str], list[str]]:
    """
    The starter chain for the keys set in *environ*, and the key's providers with no curated model.

    The chain is each found provider's first active curated model, Anthropic, OpenAI,
    Google and OpenRouter first.
    """
    found = _found(environ)
    models: list[str] = []
    unknown: list[str] = []
    for provider in found:
        first = next(
            (
                str(info.ref)
                for info in curated_catalog()
                if info.ref.provider == provider and info.status is ModelStatus.ACTIVE
            ),
            None,
        )
        if first is None:
            unknown.append(provider)
        else:
            models.append(first)
    return models, unknown


def _found(environ: Mapping[str, str]) -> list[str]:
    providers = [
        name
        for name, row in BUILTIN_PROVIDERS.items()
        if any(environ.get(variable) for variable in row.env_vars)
    ]
    ranked = [p for p in _PREFERENCE if p in providers]
    return ranked + [p for p in providers if p not in ranked]


def run_init(context: Context) -> int:
    """
    ``init``: write the starter config where modelcfg looks for one (or at ``--config``).
    """
    path = config_path(context.args, context.environ)
    if path is None:
        base = config_dir(context.environ)
        if base is None:
            raise CliError("nowhere to write a config: pass --config PATH", Exit.CONFIG)
        path = base / "config.json"
    if path.exists() and not context.args.force:
        raise CliError(
            f"{path} exists already; edit it with `modelcfg models set` and friends, "
            "or pass --force to replace it",
            Exit.FAILURE,
        )
    models, unknown = starter_config(context.environ)
    if not models:
        names = sorted({v for row in BUILTIN_PROVIDERS.values() for v in row.env_vars})
        raise CliError(
            "no provider key with a curated model is set in the environment "
            f"(looked for {', '.join(names)}); set one, or write a config by hand "
            "(docs/config.md)",
            Exit.FAILURE,
        )
    primary, fallbacks = models[0], models[1:]
    data: dict[str, object] = {"agent": {"model": {"primary": primary, "fallbacks": fallbacks}}}
    if path.exists():
        backup_copy(path)  # --force: the old config stays as config.json.bak
    try:
        result = edit_config_file(path, lambda _old: data)
    except ConfigError:
        raise
    except ValueError as exc:
        raise CliError(f"cannot write {path}: {exc}", Exit.CONFIG) from None
    written = result.written or path
    if context.args.json:
        emit_json(
            context.out,
            {
                "config": str(path),
                "written": str(written),
                "beside": result.beside,
                "model": {"primary": primary, "fallbacks": list[JSON](fallbacks)},
                "noCuratedModel": list[JSON](unknown),
            },
        )
    else:
        out = context.out
        out.line(f"Wrote {written}:")
        out.line(f"  primary:   {primary}")
        out.line(f"  fallbacks: {', '.join(fallbacks) or '(none)'}")
        for provider in unknown:
            out.line(
                f"  note: {provider}'s key is set but the catalog has no model of it: "
                f"add one with `modelcfg models fallbacks add {provider}/MODEL`"
            )
        out.line("Keys stay in the environment; the config names only models.")
    return Exit.FAILURE if result.beside else Exit.OK
