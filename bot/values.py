"""Company values a kudos can be tagged with: data in `prompts/values.yaml`, loaded into strict models."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, field_validator

VALUES_FILE = Path(__file__).resolve().parent.parent / "prompts" / "values.yaml"
_ID = re.compile(r"^[a-z][a-z0-9_]{1,40}$")


class ValuesError(ValueError):
    """A values file that cannot be used (missing translation, duplicate id or alias)."""


class Text2(BaseModel):
    model_config = ConfigDict(extra="forbid")
    en: str
    zh: str

    def __getitem__(self, locale: str) -> str:
        return self.zh if locale == "zh" else self.en

    @field_validator("en", "zh")
    @classmethod
    def _not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("must not be empty")
        return v.strip()


class CompanyValue(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    name: Text2
    description: Text2
    emoji: str = ":star:"
    aliases: list[str] = []

    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        if not _ID.match(v):
            raise ValueError(f"value id {v!r} must be lowercase letters, digits and underscores")
        return v


class CompanyValues(BaseModel):
    model_config = ConfigDict(extra="forbid")
    values: list[CompanyValue]

    @property
    def ids(self) -> list[str]:
        return [v.id for v in self.values]

    def get(self, value_id: str) -> CompanyValue:
        for v in self.values:
            if v.id == value_id:
                return v
        raise KeyError(value_id)

    def resolve(self, tag: str) -> CompanyValue | None:
        """The value a typed tag means (`customer_first`, `Customer_First`, an alias such as `客户第一`), or None."""
        key = _key(tag.strip().lstrip("#"))
        for v in self.values:
            if key == v.id or key in (_key(a) for a in (*v.aliases, v.name.en, v.name.zh)):
                return v
        return None

    def label(self, value_id: str, locale: str) -> str:
        try:
            v = self.get(value_id)
        except KeyError:
            return value_id
        return f"{v.emoji} {v.name[locale]}"


def _key(word: str) -> str:
    """A tag as compared: case and the spaces, hyphens or underscores between words do not matter."""
    return re.sub(r"[\s_-]+", "_", word.strip()).casefold()


def load_values_file(path: Path) -> CompanyValues:
    """Load and check a values file: at least one value, unique ids and aliases, both languages everywhere."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        model = CompanyValues.model_validate(data)
    except (OSError, yaml.YAMLError, ValueError) as exc:
        raise ValuesError(f"{path}: {exc}") from exc
    if not model.values:
        raise ValuesError(f"{path}: define at least one value")
    seen: set[str] = set()
    for v in model.values:
        for key in [v.id, *(a.casefold() for a in v.aliases)]:
            if key in seen:
                raise ValuesError(f"{path}: {key!r} names two values")
            seen.add(key)
    return model


@lru_cache(maxsize=4)
def _cached(path: str) -> CompanyValues:
    return load_values_file(Path(path))


def load_values(path: Path | None = None) -> CompanyValues:
    """The configured company values (GROWTHLOOP_VALUES_FILE, else the shipped file), cached per path."""
    return _cached(str((path or VALUES_FILE).resolve()))
