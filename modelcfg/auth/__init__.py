"""
Credentials and auth profiles: the auth store, credential resolution, login and legacy import.

The store, credential values and resolution load without httpx or anyio; the
OAuth names (:func:`login_oauth`, :class:`OAuthRefresher`, ...) load them on first use.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from modelcfg.auth._credentials import (
    ApiKeyCredential,
    Credential,
    OAuthCredential,
    OAuthError,
    RefreshFailedError,
    Secret,
    StoredProfile,
    TokenCredential,
)
from modelcfg.auth._env import DEFAULT_ENV_VARS, env_vars_for, keyless_provider
from modelcfg.auth._legacy import LegacyAuthImport, import_legacy_auth
from modelcfg.auth._refresh import DEFAULT_REFRESH_SKEW_S, Refresher
from modelcfg.auth._resolve import (
    CredentialOrigin,
    ResolvedCredential,
    credential_for,
    effective_order,
    resolve_credential,
)
from modelcfg.auth._store import (
    AUTH_STORE_VERSION,
    AuthStore,
    AuthStoreProtocol,
    InsecureAuthFileWarning,
    MemoryAuthStore,
    default_auth_path,
    login_api_key,
    logout,
)

if TYPE_CHECKING:
    from modelcfg.auth._oauth import (
        OAuthEndpoints,
        OAuthRefresher,
        PkcePair,
        authorize,
        login_oauth,
        print_url,
        refresh_oauth,
    )

__all__ = [
    "AUTH_STORE_VERSION",
    "DEFAULT_ENV_VARS",
    "DEFAULT_REFRESH_SKEW_S",
    "ApiKeyCredential",
    "AuthStore",
    "AuthStoreProtocol",
    "Credential",
    "CredentialOrigin",
    "InsecureAuthFileWarning",
    "LegacyAuthImport",
    "MemoryAuthStore",
    "OAuthCredential",
    "OAuthEndpoints",
    "OAuthError",
    "OAuthRefresher",
    "PkcePair",
    "RefreshFailedError",
    "Refresher",
    "ResolvedCredential",
    "Secret",
    "StoredProfile",
    "TokenCredential",
    "authorize",
    "credential_for",
    "default_auth_path",
    "effective_order",
    "env_vars_for",
    "keyless_provider",
    "import_legacy_auth",
    "login_api_key",
    "login_oauth",
    "logout",
    "print_url",
    "refresh_oauth",
    "resolve_credential",
]

_OAUTH_NAMES = frozenset(
    {
        "OAuthEndpoints",
        "OAuthRefresher",
        "PkcePair",
        "authorize",
        "login_oauth",
        "print_url",
        "refresh_oauth",
    }
)


def __getattr__(name: str) -> object:
    if name in _OAUTH_NAMES:
        from modelcfg.auth import _oauth

        return getattr(_oauth, name)
    raise AttributeError(f"module 'modelcfg.auth' has no attribute {name!r}")
