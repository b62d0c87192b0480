"""The competency model (data in `knowledge/data/competencies.yaml`), loaded into strict models."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, field_validator

MODEL_FILE = Path(__file__).parent / "data" / "competencies.yaml"


class Bilingual(BaseModel):
    model_config = ConfigDict(extra="forbid")
    en: str
    zh: str

    def __getitem__(self, locale: str) -> str:
        return self.zh if locale == "zh" else self.en


class BilingualList(BaseModel):
    model_config = ConfigDict(extra="forbid")
    en: list[str]
    zh: list[str]

    def __getitem__(self, locale: str) -> list[str]:
        return self.zh if locale == "zh" else self.en


class Competency(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    name: Bilingual
    description: Bilingual
    descriptors: BilingualList
    cues: BilingualList

    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        if not v.replace("_", "").isalnum() or v.lower() != v:
            raise ValueError(f"competency id {v!r} must be lowercase letters, digits and underscores")
        return v


class CompetencyModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    competencies: list[Competency]

    @property
    def ids(self) -> list[str]:
        return [c.id for c in self.competencies]

    def get(self, cid: str) -> Competency:
        for c in self.competencies:
            if c.id == cid:
                return c
        raise KeyError(cid)

    def name(self, cid: str, locale: str) -> str:
        try:
            return self.get(cid).name[locale]
        except KeyError:
            return cid


def load_model_file(path: Path) -> CompetencyModel:
    """Load and validate a competency model file (unique ids, both languages everywhere)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    model = CompetencyModel.model_validate(data)
    seen: set[str] = set()
    for c in model.competencies:
        if c.id in seen:
            raise ValueError(f"{path.name}: competency {c.id} is defined twice")
        seen.add(c.id)
        for field in ("descriptors", "cues"):
            lists = getattr(c, field)
            if not lists.en or not lists.zh:
                raise ValueError(f"{path.name}: competency {c.id} lacks {field} in one language")
    return model


@lru_cache(maxsize=1)
def load_competency_model() -> CompetencyModel:
    """The shipped competency model (cached)."""
    return load_model_file(MODEL_FILE)
