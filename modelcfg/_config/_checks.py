"""
The checks between sections of a configuration, one function per section.

Structuring (:mod:`modelcfg._config._converter`) checks each value on its own;
what is left is what a value means for the others: a chain names models that
exist, a profile belongs to a known provider, an alias names one model, a URL
holds no credential. Each check returns its problems as ``"$.path: message"``
lines; :func:`check` runs them all, so every problem is reported at once.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Mapping
from typing import Final

import attrs

from modelcfg._catalog._records import ModelInfo
from modelcfg._config._converter import field_message, in_json_terms, json_name
from modelcfg._config._endpoints import http_url_problem
from modelcfg._config._param_checks import check_params
from modelcfg._config._problems import Lost, at_path, did_you_mean, key_path
from modelcfg._config._providers import BUILTIN_PROVIDERS, WireFormat
from modelcfg._config._schema import ChainConfig, Config, ProviderConfig
from modelcfg._core._budget import BudgetScope
from modelcfg._core._redact import redact
from modelcfg._core._values import ModelRef

__all__ = ["check"]

_ENV_NAME: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_CREDENTIAL_WORDS: Final = ("auth", "key", "token", "cookie", "secret", "passw", "credential")
_URL_SPACE: Final = re.compile(r"[\s\x00-\x1f\x7f-\x9f]")
_ALIAS_RE: Final = re.compile(r"[^\s/@]+\Z")
_NO_CREDENTIALS: Final = "credentials do not belong in the config; store them with `modelcfg login`"
_NO_SECRETS: Final = _NO_CREDENTIALS + " and name the variable in apiKeyEnv"


def _names_credential(name: str) -> bool:
    """
    Whether a header or query parameter name says it carries a credential.
    """
    folded = name.casefold()
    return any(word in folded for word in _CREDENTIAL_WORDS)


def _split_url(url: str) -> urllib.parse.SplitResult | None:
    try:
        return urllib.parse.urlsplit(url)
    except ValueError:  # a malformed IPv6 host
        return None


def _credential_in_url(url: str) -> str | None:
    """
    Why *url* holds a credential (user info, a key in the query, a key anywhere), or ``None``.
    """
    parts = _split_url(url)
    if "@" in (parts.netloc if parts is not None else url):
        return f"must not hold a user name or password ('user:password@host'); {_NO_CREDENTIALS}"
    query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True) if parts else []
    for name, value in query:
        if _names_credential(name) or redact(value) != value:
            return f"its query string holds a credential ({name!r}); {_NO_CREDENTIALS}"
    if redact(url) != url:
        return f"looks like it holds a credential; {_NO_CREDENTIALS}"
    return None


def _url_problem(url: str) -> str | None:
    """
    What is wrong with *url* as an http(s) base URL, or ``None``.

    A URL that may hold a credential is never echoed.
    """
    problem = _credential_in_url(url)
    if problem is not None:
        return problem
    # From here on the URL holds no credential, and showing it helps.
    parts = _split_url(url)
    if _URL_SPACE.search(url):
        return f"{url!r} is not a valid URL: it contains white space or a control character"
    if parts is None:
        return f"{url!r} is not a valid URL"
    scheme = parts.scheme
    if scheme not in ("http", "https") or url[: len(scheme) + 3].lower() != f"{scheme}://":
        return f"{url!r} is not an http(s) URL"
    if not parts.hostname:
        return f"{url!r} is not a valid URL: it names no host"
    try:
        parts.port  # noqa: B018 - reading the port checks it
    except ValueError:
        return f"{url!r} is not a valid URL: its port is not a number from 0 to 65535"
    return None


def check(config: Config, lost: Lost | None = None) -> list[str]:
    """
    Every problem between the sections of *config*, as ``"$.path: message"`` lines.

    *lost* names what structuring set aside: references to it are not reported,
    since its own problem already is.
    """
    scope = _Scope(config, lost if lost is not None else Lost())
    return [
        *_auth_profiles(scope),
        *_auth_order(scope),
        *_agent_models(scope),
        *_agent_chains(scope),
        *_providers(config),
        *check_params(config),
        *_key_shaped(config),
        *_budgets(scope),
    ]


@attrs.frozen
class _Scope:
    """
    What every section's check needs: the config, and what was set aside.
    """

    config: Config
    lost: Lost
    known: frozenset[str] = attrs.field(init=False)

    @known.default
    def _known(self) -> frozenset[str]:
        return frozenset(BUILTIN_PROVIDERS) | frozenset(self.config.providers)

    def unknown_provider(self, provider: str, path: str, what: str) -> list[str]:
        """
        The problem of *what* (at *path*) naming a provider that is not known, if it is not.
        """
        if provider in self.known or self.lost.provider_ok(provider):
            return []
        return [
            at_path(
                path,
                f"{what} uses provider {provider!r}, which is neither built in nor configured "
                f"under $.providers{did_you_mean(provider, self.known)}",
            )
        ]


def _auth_profiles(scope: _Scope) -> list[str]:
    """
    ``auth.profiles``: each profile belongs to a known provider, and says the same one.
    """
    errors = []
    for profile_id, profile in scope.config.auth.profiles.items():
        path = key_path("$.auth.profiles", str(profile_id))
        if profile.provider != profile_id.provider:
            errors.append(
                at_path(
                    f"{path}.provider",
                    f"{profile.provider!r} does not match the provider "
                    f"{profile_id.provider!r} of the profile id",
                )
            )
        errors += scope.unknown_provider(profile_id.provider, path, f"profile {profile_id}")
    return errors


def _auth_order(scope: _Scope) -> list[str]:
    """
    ``auth.order``: each order is a known provider's, and lists its own profiles once each.
    """
    errors = []
    for provider, order in scope.config.auth.order.items():
        path = key_path("$.auth.order", provider)
        errors += scope.unknown_provider(provider, path, "this order")
        seen: set[object] = set()
        for index, profile_id in enumerate(order):
            where = key_path(path, index)
            if profile_id.provider != provider:
                errors.append(
                    at_path(
                        where,
                        f"profile {str(profile_id)!r} belongs to provider "
                        f"{profile_id.provider!r}, not to {provider!r}",
                    )
                )
            if profile_id in seen:
                errors.append(at_path(where, f"profile {str(profile_id)!r} is listed twice"))
            seen.add(profile_id)
    return errors


def _agent_models(scope: _Scope) -> list[str]:
    """
    ``agent.models``: known providers, valid catalog records, one model per alias.
    """
    errors: list[str] = []
    owners: dict[str, ModelRef] = {}
    for ref, entry in scope.config.agent.models.items():
        path = key_path("$.agent.models", str(ref))
        errors += scope.unknown_provider(ref.provider, path, f"model {ref}")
        overrides = entry.catalog_overrides()
        counts_ok = True
        for value, name in (
            (entry.context_window, "contextWindow"),
            (entry.max_output_tokens, "maxOutputTokens"),
        ):
            if value is not None and value <= 0:
                counts_ok = False
                errors.append(
                    at_path(f"{path}.{name}", f"must be a positive number of tokens, not {value}")
                )
        if overrides and counts_ok:
            # The record these fields make must itself be valid (limits that agree,
            # a non-empty name and input, ...): checked now, not when first used.
            errors += _record_problems(ref, overrides, path)
        if not entry.alias:  # None, or "" to take no built-in alias
            continue
        if not _ALIAS_RE.match(entry.alias):
            errors.append(
                at_path(
                    f"{path}.alias",
                    f"{entry.alias!r} cannot be an alias: it must be non-empty "
                    "and contain no white space, '/' or '@'",
                )
            )
            continue
        other = owners.setdefault(entry.alias.casefold(), ref)
        if other != ref:
            errors.append(
                at_path(
                    f"{path}.alias",
                    f"{entry.alias!r} is already the alias of {other} "
                    "(aliases are case-insensitive and name one model each)",
                )
            )
    return errors


def _agent_chains(scope: _Scope) -> list[str]:
    """
    ``agent.allowlist``, ``agent.model`` and ``agent.imageModel``: every entry names a
    known model, once per chain, and chains stay inside the allowlist.
    """
    config = scope.config
    errors: list[str] = []
    names = [
        *(e.alias for e in config.agent.models.values() if e.alias),
        *map(str, config.agent.models),
    ]
    unseen: list[str] = []

    def resolve(text: str, path: str) -> ModelRef | None:
        ref = config.lookup(text)
        if ref is None and scope.lost.name_ok(text):
            unseen.append(path)  # its entry was broken, and is reported already
        elif ref is None:
            errors.append(
                at_path(
                    path, f"{text!r} is not a known model id or alias{did_you_mean(text, names)}"
                )
            )
        else:
            errors.extend(scope.unknown_provider(ref.provider, path, f"model {ref}"))
        return ref

    allowed: set[ModelRef] | None = None
    if config.agent.allowlist is not None:
        allowed = set()
        for index, text in enumerate(config.agent.allowlist):
            listed = resolve(text, key_path("$.agent.allowlist", index))
            if listed is not None:
                allowed.add(listed)
        if unseen:  # the allowlist names a model the checks cannot see
            allowed = None

    chains: tuple[tuple[str, ChainConfig | None], ...] = (
        ("model", config.agent.model),
        ("imageModel", config.agent.image_model),
    )
    for key, chain in chains:
        if chain is None:
            continue
        base = key_path("$.agent", key)
        first_seen: dict[ModelRef, str] = {}
        entries = [(f"{base}.primary", chain.primary)] + [
            (key_path(f"{base}.fallbacks", i), text) for i, text in enumerate(chain.fallbacks)
        ]
        for path, text in entries:
            member = resolve(text, path)
            if member is None:
                continue
            if member in first_seen:
                errors.append(
                    at_path(path, f"{member} is already in the chain at {first_seen[member]}")
                )
            first_seen.setdefault(member, path)
            if allowed is not None and member not in allowed:
                errors.append(at_path(path, f"{member} is not in $.agent.allowlist"))
    return errors


def _budgets(scope: _Scope) -> list[str]:
    """
    ``budgets``: names are unique (each keeps its own counters), and a provider or
    profile budget names a known provider.
    """
    problems: list[str] = []
    seen: set[str] = set()
    for index, budget in enumerate(scope.config.budgets):
        path = key_path("$.budgets", index)
        if budget.name in seen:
            problems.append(
                at_path(key_path(path, "name"), f"{budget.name!r} names another budget too")
            )
        seen.add(budget.name)
        if budget.match is None:
            continue
        provider = {
            BudgetScope.PROVIDER: budget.match,
            BudgetScope.MODEL: budget.match.partition("/")[0],
            BudgetScope.PROFILE: budget.match.partition(":")[0],
        }.get(budget.scope)
        if provider is not None:
            problems += scope.unknown_provider(
                provider.lower(), key_path(path, "match"), "the budget"
            )
    return problems


def _providers(config: Config) -> list[str]:
    """
    ``providers``: every entry's URLs, headers and key variables.
    """
    errors: list[str] = []
    for provider, settings in config.providers.items():
        errors += _provider_entry(provider, settings)
    return errors


def _record_problems(ref: ModelRef, overrides: Mapping[str, object], path: str) -> list[str]:
    """
    The problems of the catalog record a model entry makes, each at its field's path.
    """
    try:
        ModelInfo.unknown(ref).with_overrides(**overrides)
    except (ValueError, TypeError) as exc:
        whole = exc
    else:
        return []
    problems = []
    for name, value in overrides.items():  # Only now, to find the fields at fault.
        try:
            ModelInfo.unknown(ref).with_overrides(**{name: value})
        except (ValueError, TypeError) as field_exc:
            message = field_message(str(field_exc), name, str(ref))
            problems.append(at_path(f"{path}.{json_name(name)}", message))
    return problems or [at_path(path, in_json_terms(str(whole)))]


def _provider_entry(provider: str, settings: ProviderConfig) -> list[str]:
    """
    What is wrong with one ``providers`` entry; no secret is ever echoed.
    """
    errors = []
    path = key_path("$.providers", provider)
    if settings.base_url is not None:
        problem = _url_problem(settings.base_url)
        if problem:
            errors.append(at_path(f"{path}.baseUrl", problem))
    elif provider not in BUILTIN_PROVIDERS and settings.api is not WireFormat.CUSTOM:
        errors.append(at_path(f"{path}.baseUrl", "is required for a provider that is not built in"))
    if settings.oauth is not None:
        oauth = settings.oauth
        for name, url in (("authorizeUrl", oauth.authorize_url), ("tokenUrl", oauth.token_url)):
            # The OAuth flow's own check (modelcfg._config._endpoints), after the one for secrets
            # (which never echoes the URL): a config that loads can log in.
            problem = _credential_in_url(url) or http_url_problem(url)
            if problem:
                errors.append(at_path(f"{path}.oauth.{name}", problem))
        if not oauth.client_id.strip():
            errors.append(at_path(f"{path}.oauth.clientId", "must not be empty"))
        elif oauth.client_id != oauth.client_id.strip():
            errors.append(
                at_path(f"{path}.oauth.clientId", "must not have surrounding white space")
            )
    for header, value in settings.headers.items():
        header_path = key_path(path + ".headers", header)
        if _names_credential(header):
            errors.append(at_path(header_path, _NO_SECRETS))
        elif redact(value) != value:
            errors.append(at_path(header_path, f"the value looks like a credential; {_NO_SECRETS}"))
    for index, name in enumerate(settings.api_key_env):
        if not _ENV_NAME.match(name) or redact(name) != name:
            errors.append(
                at_path(
                    key_path(f"{path}.apiKeyEnv", index),
                    "this must be the NAME of an environment variable "
                    "(such as MY_PROVIDER_API_KEY), never a key itself",
                )
            )
    return errors


_CREDENTIAL_PARAMS: Final = frozenset(
    {
        *("api_key", "apikey", "x_api_key", "key", "token", "auth", "authorization", "bearer"),
        *("access_token", "refresh_token", "id_token", "auth_token", "session_token"),
        *("password", "passwd", "secret", "client_secret", "cookie", "credential", "credentials"),
    }
)


def names_credential_param(name: str) -> bool:
    """
    Whether a request parameter's name says it carries a credential (``api_key``, ``x-api-key``).
    """
    return name.casefold().replace("-", "_") in _CREDENTIAL_PARAMS


def _key_shaped(config: Config) -> list[str]:
    """
    Values that look like keys where no key belongs: ``params`` (sent in every
    request body), aliases, model ids, OAuth client ids and profile emails. A
    parameter named for a credential is refused too. No value is ever echoed.
    """
    errors: list[str] = []
    for ref, entry in config.agent.models.items():
        path = key_path("$.agent.models", str(ref))
        if redact(str(ref)) != str(ref):
            errors.append(at_path(path, f"the model id looks like a credential; {_NO_CREDENTIALS}"))
        if entry.alias is not None and redact(entry.alias) != entry.alias:
            errors.append(at_path(f"{path}.alias", f"looks like a credential; {_NO_CREDENTIALS}"))
        todo: list[tuple[str, object]] = [(f"{path}.params", dict(entry.params))]
        while todo:  # loading refused anything nested more than 64 levels deep
            where, value = todo.pop()
            if isinstance(value, Mapping):
                for name, item in value.items():
                    inner = key_path(where, name)
                    # A number, a boolean or null under such a name carries no credential.
                    text = isinstance(item, str | Mapping | list | tuple)
                    if text and names_credential_param(str(name)):
                        errors.append(at_path(inner, f"is sent in the request body; {_NO_SECRETS}"))
                    else:
                        todo.append((inner, item))
            elif isinstance(value, list | tuple):
                todo += [(key_path(where, index), item) for index, item in enumerate(value)]
            elif isinstance(value, str) and redact(value) != value:
                errors.append(at_path(where, f"the value looks like a credential; {_NO_SECRETS}"))
    for provider, settings in config.providers.items():
        client_id = settings.oauth.client_id if settings.oauth is not None else ""
        if redact(client_id) != client_id:
            where = f"{key_path('$.providers', provider)}.oauth.clientId"
            errors.append(at_path(where, f"looks like a credential; {_NO_CREDENTIALS}"))
    for profile_id, profile in config.auth.profiles.items():
        if profile.email is not None and redact(profile.email) != profile.email:
            where = f"{key_path('$.auth.profiles', str(profile_id))}.email"
            errors.append(at_path(where, f"looks like a credential; {_NO_CREDENTIALS}"))
    return sorted(errors)
