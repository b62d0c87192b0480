"""The one typed Settings object, read from the environment (see CONTRACT.md)."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class SettingsError(RuntimeError):
    """A missing or malformed setting, with one line naming the variable."""


class Settings(BaseSettings):
    """Everything GrowthLoop reads from the environment."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", case_sensitive=False)

    slack_bot_token: str | None = Field(default=None, repr=False)  # secret: never in a repr, log or traceback
    slack_signing_secret: str | None = Field(default=None, repr=False)  # secret: never in a repr, log or traceback
    slack_app_token: str | None = Field(default=None, repr=False)  # secret: never in a repr, log or traceback
    slack_api_url: str = "https://slack.com/api/"

    growthloop_data_dir: Path = Path("./data")
    database_url: str | None = Field(default=None, repr=False)  # may carry a password
    chroma_url: str | None = None

    openai_api_key: str | None = Field(default=None, repr=False)  # secret: never in a repr, log or traceback
    openai_base_url: str | None = None
    openai_model: str = "gpt-4o-mini"
    growthloop_llm_timeout_s: float = Field(default=20.0, gt=0)
    growthloop_llm_monthly_token_budget: int = Field(default=2_000_000, ge=0)

    growthloop_kudos_channel: str | None = None
    growthloop_kudos_daily_allowance: int = Field(default=5, ge=1)
    growthloop_values_file: Path | None = None  # company values (zh/en); default prompts/values.yaml
    growthloop_default_timezone: str = "UTC"
    growthloop_default_locale: str = "en"
    growthloop_hr_can_read_checkins: bool = False
    growthloop_retention_days: int = Field(default=3 * 365, ge=1)
    growthloop_broadcast_rate_per_s: float = Field(default=20.0, gt=0)
    growthloop_embedder: str = "e5"
    # Where a finished check-in's analysis runs: "serve" (a background thread of each serve process) or "worker"
    # (only in `growthloop worker` processes, so acks never share a CPU with it; see README, Scaling).
    growthloop_analysis: str = "serve"

    @field_validator("slack_api_url")
    @classmethod
    def _api_url(cls, v: str) -> str:
        if not v.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL")
        return v if v.endswith("/") else v + "/"

    @field_validator("growthloop_default_timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown IANA time zone {v!r}") from exc
        return v

    @field_validator("growthloop_default_locale")
    @classmethod
    def _locale(cls, v: str) -> str:
        if v not in ("en", "zh"):
            raise ValueError("must be 'en' or 'zh'")
        return v

    @field_validator("growthloop_analysis")
    @classmethod
    def _analysis(cls, v: str) -> str:
        if v not in ("serve", "worker"):
            raise ValueError("must be 'serve' or 'worker'")
        return v

    @field_validator("database_url")
    @classmethod
    def _db(cls, v: str | None) -> str | None:
        if v and "://" not in v:
            raise ValueError("must be an SQLAlchemy URL such as postgresql+psycopg://user@host/db")
        return v or None

    @field_validator("chroma_url", "openai_base_url")
    @classmethod
    def _url(cls, v: str | None) -> str | None:
        if v and not v.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL")
        return v or None

    @property
    def resolved_database_url(self) -> str:
        """The SQLAlchemy URL: DATABASE_URL, else SQLite in the data dir."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.growthloop_data_dir / 'growthloop.db').resolve()}"

    @property
    def llm_enabled(self) -> bool:
        return bool(self.openai_api_key)

    def require_slack(self) -> None:
        """Raise SettingsError naming the first Slack variable `serve` needs but lacks."""
        for name in ("slack_bot_token", "slack_signing_secret"):
            if not getattr(self, name):
                raise SettingsError(f"{name.upper()} is required by `growthloop serve` (see README, Configuration)")


def load_settings(**overrides: object) -> Settings:
    """Read the environment; turn a validation error into one clear line naming the variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        err = exc.errors()[0]
        name = str(err["loc"][0]).upper() if err.get("loc") else "?"
        raise SettingsError(f"{name}: {err['msg']}") from exc
