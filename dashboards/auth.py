"""Dashboard login: who the visitor is and which workspaces they may see (DESIGN.md §8).

Nobody logs in on 127.0.0.1 when nothing is configured. With a shared password, named users or
OIDC configured, every visitor logs in first; a user then sees only the workspaces granted to them.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

import streamlit as st
from pydantic import SecretStr

from models.settings import DashboardConfig

__all__ = [
    "ALL_WORKSPACES",
    "LOCAL_ADDRESSES",
    "SHARED_USER",
    "User",
    "bound_locally",
    "check_password",
    "current_user",
    "hash_password",
    "log_out",
    "login_page",
    "verify_login",
]

ALL_WORKSPACES = "*"
SHARED_USER = "owner"  # the user name of the shared `dashboard.password`
LOCAL_ADDRESSES = frozenset({"127.0.0.1", "localhost", "::1"})
_SESSION_KEY = "opspulse.user"
_ITERATIONS = 240_000


@dataclass(frozen=True)
class User:
    """A logged-in visitor and the workspaces granted to them ("*" grants every one)."""

    name: str
    grants: tuple[str, ...]
    via: str  # "local", "password" or "oidc"

    def may_see(self, workspace: str) -> bool:
        """Whether the workspace is granted to this user."""
        return ALL_WORKSPACES in self.grants or workspace in self.grants

    def visible(self, workspaces: list[str]) -> list[str]:
        """The granted subset of `workspaces`, in order."""
        return [w for w in workspaces if self.may_see(w)]


def hash_password(password: str, *, iterations: int = _ITERATIONS) -> str:
    """A `pbkdf2_sha256$<iterations>$<salt hex>$<hash hex>` string to put in the config."""
    salt = secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    return f"pbkdf2_sha256${iterations}${salt.hex()}${digest.hex()}"


def check_password(given: str, stored: SecretStr | None) -> bool:
    """Compare a typed password with a stored one (plain or pbkdf2) in constant time."""
    if stored is None:
        # Same work as a real check, so an unknown user cannot be told apart by timing.
        hmac.compare_digest(given.encode(), secrets.token_hex(16).encode())
        return False
    value = stored.get_secret_value()
    if value.startswith("pbkdf2_sha256$"):
        try:
            _, rounds, salt, digest = value.split("$")
            computed = hashlib.pbkdf2_hmac(
                "sha256", given.encode(), bytes.fromhex(salt), int(rounds)
            )
            return hmac.compare_digest(computed.hex(), digest)
        except ValueError:
            return False
    return hmac.compare_digest(given.encode(), value.encode())


def verify_login(config: DashboardConfig, name: str, password: str) -> User | None:
    """The user a name and password log in as, or None."""
    if name in config.users:
        if check_password(password, config.user_password(name)):
            return User(name, tuple(config.users[name].workspaces), "password")
        return None
    if name == SHARED_USER and check_password(password, config.shared_password()):
        return User(SHARED_USER, (ALL_WORKSPACES,), "password")
    check_password(password, None)
    return None


def bound_locally(address: str | None) -> bool:
    """Whether the server listens on the loopback address only (unset binds every interface)."""
    return bool(address) and address in LOCAL_ADDRESSES


def current_user(config: DashboardConfig, address: str | None) -> User | None:
    """The logged-in user, or None while the visitor still has to log in (or may not)."""
    if not config.auth_configured:
        return User("local", (ALL_WORKSPACES,), "local") if bound_locally(address) else None
    if config.oidc:
        return _oidc_user(config)
    user = st.session_state.get(_SESSION_KEY)
    return user if isinstance(user, User) else None


def login_page(config: DashboardConfig, address: str | None) -> None:
    """What a visitor without a user sees: the login form, or why nobody can log in."""
    st.title("opspulse")
    if not config.auth_configured:
        st.error(
            "This dashboard listens beyond 127.0.0.1 but no login is configured. Set "
            "`[dashboard] password` or `[dashboard.users.<name>]` in opspulse.toml, or serve it "
            "with `opspulse dashboard --host 127.0.0.1`."
        )
    elif config.oidc:
        _oidc_prompt(config)
    else:
        _login_form(config)


def _login_form(config: DashboardConfig) -> None:
    st.caption("Log in to see your workspaces.")
    with st.form("login"):
        default = "" if config.users else SHARED_USER
        name = st.text_input("User", value=default)
        password = st.text_input("Password", type="password")
        submitted = st.form_submit_button("Log in")
    if not submitted:
        return
    user = verify_login(config, name.strip(), password)
    if user is None:
        st.error("Wrong user or password.")
        return
    st.session_state[_SESSION_KEY] = user
    st.rerun()


def _oidc_user(config: DashboardConfig) -> User | None:
    if not st.user.is_logged_in:
        return None
    email = str(st.user.get("email") or "")
    granted = config.users.get(email)
    if granted is None or not granted.workspaces:
        return None
    return User(email, tuple(granted.workspaces), "oidc")


def _oidc_prompt(config: DashboardConfig) -> None:
    if not st.user.is_logged_in:
        st.caption("Log in with your identity provider to see your workspaces.")
        st.button("Log in", on_click=st.login)
        return
    email = str(st.user.get("email") or "this account")
    st.error(f"No workspace is granted to {email}; ask an administrator.")
    st.button("Log out", on_click=st.logout)


def log_out() -> None:
    """Forget the password login of this session (OIDC logs out through st.logout)."""
    st.session_state.pop(_SESSION_KEY, None)
