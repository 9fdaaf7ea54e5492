"""Typed settings from `opspulse.toml` and `OPSPULSE_*` environment variables; the only env reader."""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from models.errors import UsageError
from models.events import Stage

__all__ = [
    "AlertsConfig",
    "DashboardConfig",
    "DashboardUser",
    "MaturityConfig",
    "MetricsConfig",
    "ProcessConfig",
    "Settings",
    "SourceConfig",
    "WorkspaceConfig",
    "WorkspacePaths",
    "load_settings",
    "validate_workspace_name",
]

DEFAULT_CONFIG = Path("opspulse.toml")
_WORKSPACE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ProcessConfig(_Strict):
    """How one process is read: stage mapping, start and finish points, expectations."""

    status_map: dict[str, Stage] = Field(default_factory=dict)
    type: Literal["standard", "support", "invoicing"] = "standard"
    client_facing: bool = False
    ct_start: list[str] = Field(
        default_factory=lambda: ["first_enter:started", "first_assigned", "created"]
    )
    ct_finish: Literal["first_done_after_last_reopen", "first_done"] = (
        "first_done_after_last_reopen"
    )
    sle_days: float | None = None
    frt_target_hours: float | None = None  # support processes: first-reply target (O11, T5)


class SourceConfig(_Strict):
    """One connected business tool: where it answers, how to authenticate, what feeds which process.

    The token comes from `OPSPULSE_SOURCES__<NAME>__TOKEN` (or the variable named by `token_env`);
    it is a SecretStr, never logged or stored, and only the HTTP layer reads its value.
    """

    type: str | None = None  # the SOURCES key; defaults to the table name ([sources.asana])
    base_url: str | None = None  # vendor default when unset; tests point it at a local fake
    token: SecretStr | None = None
    token_env: str | None = None
    scopes: dict[str, str] = Field(
        default_factory=dict
    )  # native id (project, board, form...) -> process
    default_process: str | None = None
    start_date: date | None = None  # how far back the first pull goes (default: 365 days)
    options: dict[str, str | int | float | bool] = Field(
        default_factory=dict
    )  # subdomain, key, ...
    timeout_seconds: float = 30.0
    max_retries: int = 5
    max_wait_seconds: float = 60.0
    overlap_seconds: int = 300  # each pull re-reads this much before the cursor; dedup absorbs it
    token_block: str | None = None  # Prefect Secret block holding the token when no env var is set
    stale_after_hours: float = 36.0  # committed data older than this marks the source stale


class MetricsConfig(_Strict):
    """Named defaults of METRICS.md §2 that a workspace may override."""

    current_days: int = 28
    baseline_weeks: int = 12
    maturity_days: int = 90
    link_days: int = 30  # feedback.link_days
    bus_factor_share: float = 0.5
    z: float = 1.96  # spc.z, the displayed intervals
    percentile_min_n: int = 8


class MaturityConfig(_Strict):
    """Named defaults of the maturity rubric (METRICS.md §4)."""

    window_days: int = 90
    extended_days: int = 180
    min_completions_90d: int = 20
    min_completions: int = 8
    low_confidence_max_level: int = 3
    stale_days: int = 14
    stage_share: float = 0.80
    m21_min: float = 0.80
    m22_min: float = 0.70
    m23_max: float = 0.20
    m24_min: float = 0.60
    template_min: float = 0.70
    hps_min: float = 0.60
    d32_min: float = 0.80
    d33_min: float = 0.80
    q41_min: int = 20
    q42_rule1_allowed: int = 0
    q43_max: float = 2.5
    fc_min: float = 0.20
    i52_alpha: float = 0.05
    i52_min_rel_slope: float = 0.01
    i52_min_rate_slope_pp: float = 0.5
    i53_rework_pp: float = 2.0
    i53_csat_pp: float = 2.0
    z_flag: float = 3.0
    lookback_days: int = 365


class AlertsConfig(_Strict):
    """Where alerts go (Apprise URLs) and how flags are evaluated (METRICS.md §6)."""

    channels: list[str] = Field(default_factory=list)
    replay_nights: int = Field(default=28, ge=0)  # history replay on a first evaluation or a gap
    replay_budget: int = Field(
        default=5_000_000, ge=0
    )  # event-nights a replay may rebuild (0: no cap)


class DashboardUser(_Strict):
    """One dashboard login: its password (or the variable holding it) and its granted workspaces.

    A password is plain text or a `pbkdf2_sha256$<iterations>$<salt hex>$<hash hex>` string;
    `workspaces = ["*"]` grants every workspace.
    """

    password: SecretStr | None = None
    password_env: str | None = None
    workspaces: list[str] = Field(default_factory=list)


class DashboardConfig(_Strict):
    """Who may open the dashboard (DESIGN.md §8); on 127.0.0.1 with nothing set, nobody logs in.

    `password` (or `password_env`) is one shared password for the user `owner`, who sees every
    workspace; `users` are named logins with their own grants; `oidc = true` logs in with
    Streamlit's st.login (the `[auth]` section of `.streamlit/secrets.toml`) and grants the
    workspaces of `users[<email>]`.
    """

    password: SecretStr | None = None
    password_env: str | None = None
    users: dict[str, DashboardUser] = Field(default_factory=dict)
    oidc: bool = False

    @property
    def auth_configured(self) -> bool:
        """Whether any way to log in is configured (then every visitor must log in)."""
        return bool(self.password or self.password_env or self.users or self.oidc)

    def shared_password(self) -> SecretStr | None:
        """The shared password, from the config or the variable `password_env` names."""
        return self.password or _env_secret(self.password_env)

    def user_password(self, name: str) -> SecretStr | None:
        """The password of a named user, or None when the user or its password is unknown."""
        user = self.users.get(name)
        if user is None:
            return None
        return user.password or _env_secret(user.password_env)


def _env_secret(name: str | None) -> SecretStr | None:
    value = os.environ.get(name) if name else None
    return SecretStr(value) if value else None


class WorkspaceConfig(_Strict):
    """Settings of one workspace (one business); unset values fall back to the top level."""

    timezone: str | None = None
    owner: str | None = None  # the business owner's name as the tools spell it (O4, O7)
    holidays: list[date] = Field(default_factory=list)
    processes: dict[str, ProcessConfig] = Field(default_factory=dict)
    sources: dict[str, SourceConfig] = Field(default_factory=dict)
    alerts: AlertsConfig | None = None

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        return None if value is None else _check_zone(value)


def _check_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown IANA time zone {value!r}") from exc
    return value


@dataclass(frozen=True)
class WorkspacePaths:
    """Where one workspace keeps its files under the data folder."""

    root: Path

    @property
    def landing(self) -> Path:
        return self.root / "landing"

    @property
    def warehouse(self) -> Path:
        return self.root / "warehouse.duckdb"

    @property
    def snapshot(self) -> Path:
        return self.root / "published" / "warehouse.duckdb"

    @property
    def lock(self) -> Path:
        return self.root / "run.lock"

    @property
    def gx(self) -> Path:
        return self.root / "gx"

    @property
    def requests(self) -> Path:
        """Folder where read-only clients (the dashboard) drop requests for the next run."""
        return self.root / "requests"


class Settings(BaseSettings):
    """Every setting of opspulse; secrets are never logged or written to the warehouse."""

    model_config = SettingsConfigDict(
        env_prefix="OPSPULSE_", env_nested_delimiter="__", extra="forbid"
    )

    home: Path = Path(".opspulse")
    timezone: str = "UTC"
    holidays: list[date] = Field(default_factory=list)
    processes: dict[str, ProcessConfig] = Field(default_factory=dict)
    workspace: dict[str, WorkspaceConfig] = Field(default_factory=dict)
    sources: dict[str, SourceConfig] = Field(default_factory=dict)
    metrics: MetricsConfig = Field(default_factory=MetricsConfig)
    maturity: MaturityConfig = Field(default_factory=MaturityConfig)
    alerts: AlertsConfig = Field(default_factory=AlertsConfig)
    max_line_bytes: int = 1024 * 1024
    dashboard_workspace: str = "default"  # set by `opspulse dashboard` for the Streamlit process
    dashboard: DashboardConfig = Field(default_factory=DashboardConfig)
    future_tolerance_days: float = 1.0

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        return _check_zone(value)

    def paths(self, workspace: str) -> WorkspacePaths:
        """The folders and files of a workspace."""
        return WorkspacePaths(self.home / validate_workspace_name(workspace))

    def workspace_timezone(self, workspace: str) -> str:
        """The IANA time zone days and weeks are bucketed in."""
        ws = self.workspace.get(workspace)
        return (ws.timezone if ws and ws.timezone else None) or self.timezone

    def process_configs(self, workspace: str) -> dict[str, ProcessConfig]:
        """Process definitions of a workspace: the top-level ones, overridden per workspace."""
        merged = dict(self.processes)
        ws = self.workspace.get(workspace)
        if ws:
            merged.update(ws.processes)
        return merged

    def source_configs(self, workspace: str) -> dict[str, SourceConfig]:
        """Sources of a workspace: the top-level ones, overridden per workspace."""
        merged = dict(self.sources)
        ws = self.workspace.get(workspace)
        if ws:
            merged.update(ws.sources)
        return merged

    def source_token_set(self, config: SourceConfig) -> bool:
        """Whether the source has a token in the config or in the variable `token_env` names."""
        return config.token is not None or bool(
            config.token_env and os.environ.get(config.token_env)
        )

    def source_token(self, name: str, config: SourceConfig) -> SecretStr:
        """The source's secret, or a usage error naming the setting to fix (never the value)."""
        if config.token is not None:
            return config.token
        if config.token_env and os.environ.get(config.token_env):
            return SecretStr(os.environ[config.token_env])
        where = config.token_env or f"OPSPULSE_SOURCES__{name.upper()}__TOKEN"
        raise UsageError(f"source {name!r} has no token; set the environment variable {where}")

    def ct_start_rows(self, workspace: str) -> list[tuple[str, int, str]]:
        """(process, position, token) of every process whose start chain is configured."""
        default = ProcessConfig().ct_start
        return [
            (process, position, token)
            for process, cfg in sorted(self.process_configs(workspace).items())
            if cfg.ct_start != default
            for position, token in enumerate(cfg.ct_start, start=1)
        ]

    def workspace_holidays(self, workspace: str) -> list[date]:
        """Holidays of a workspace (its own list, else the top-level one)."""
        ws = self.workspace.get(workspace)
        return (ws.holidays if ws and ws.holidays else None) or self.holidays

    def status_map_rows(self, workspace: str) -> list[tuple[str, str, str]]:
        """(process, original_status, stage) rows of every configured status map."""
        return [
            (process, status, stage)
            for process, cfg in sorted(self.process_configs(workspace).items())
            for status, stage in sorted(cfg.status_map.items())
        ]


def validate_workspace_name(name: str) -> str:
    """Return the name if it is a safe folder name, else raise a usage error."""
    if not _WORKSPACE_NAME.match(name) or name in {".", ".."}:
        raise UsageError(
            f"workspace name {name!r} is not allowed; use letters, digits, '-', '_' or '.'"
        )
    return name


class _TomlData(PydanticBaseSettingsSource):
    """Settings source over an already-parsed TOML document (lowest priority)."""

    def __init__(self, settings_cls: type[BaseSettings], data: dict[str, Any]) -> None:
        super().__init__(settings_cls)
        self._data = data

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return self._data.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(self._data)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path} is not valid TOML ({exc}); fix the file and retry") from exc
    except OSError as exc:
        raise UsageError(f"cannot read {path} ({exc.strerror})") from exc


def load_settings(config: Path | None = None) -> Settings:
    """Read settings: `OPSPULSE_*` env over the TOML file over defaults."""
    explicit = config or (
        Path(os.environ["OPSPULSE_CONFIG"]) if "OPSPULSE_CONFIG" in os.environ else None
    )
    path = explicit or DEFAULT_CONFIG
    if explicit and not path.exists():
        raise UsageError(f"config file {path} does not exist; check --config or OPSPULSE_CONFIG")
    data = _read_toml(path) if path.exists() else {}

    class _Loaded(Settings):
        @classmethod
        def settings_customise_sources(
            cls,
            settings_cls: type[BaseSettings],
            init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource,
            dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            return (init_settings, env_settings, _TomlData(settings_cls, data))

    try:
        return _Loaded()
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise UsageError(
            f"{path}: setting '{where}' is invalid ({first['msg']}); fix it in the file or "
            "the matching OPSPULSE_ environment variable"
        ) from exc
