"""LLM prompt templates (`prompts/llm/*.yaml`) loaded into strict models.

A template declares its variables; the load fails when the text uses a variable it does not declare or declares
one it does not use, and `render` fails on a missing or unexpected variable, so a broken prompt never reaches a
model.
"""

from __future__ import annotations

import string
from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

TEMPLATES_DIR = Path(__file__).parent / "llm"


class TemplateError(ValueError):
    """A template file is malformed, or a render is missing a variable."""


def placeholders(text: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(text) if f is not None and f != ""}


class PromptTemplate(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    purpose: str
    max_output_tokens: int = Field(gt=0, le=4000)
    variables: list[str]
    system: str
    user: str

    @model_validator(mode="after")
    def _check(self) -> PromptTemplate:
        used = placeholders(self.system) | placeholders(self.user)
        declared = set(self.variables)
        if used - declared:
            raise ValueError(f"template {self.name}: undeclared variable(s) {sorted(used - declared)}")
        if declared - used:
            raise ValueError(f"template {self.name}: declared but unused variable(s) {sorted(declared - used)}")
        return self

    def render(self, **values: str) -> tuple[str, str]:
        """(system, user) with every declared variable filled; a missing or unknown variable raises."""
        missing = set(self.variables) - set(values)
        extra = set(values) - set(self.variables)
        if missing or extra:
            raise TemplateError(f"template {self.name}: missing {sorted(missing)}, unexpected {sorted(extra)}")
        return self.system.format(**values).strip(), self.user.format(**values).strip()


def load_template_file(path: Path) -> PromptTemplate:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    try:
        tpl = PromptTemplate.model_validate(data)
    except ValueError as exc:
        raise TemplateError(f"{path.name}: {exc}") from exc
    if tpl.name != path.stem:
        raise TemplateError(f"{path.name}: name {tpl.name!r} must match the file name")
    return tpl


@lru_cache(maxsize=4)
def load_templates(directory: Path = TEMPLATES_DIR) -> dict[str, PromptTemplate]:
    """Every template in `directory`, by name."""
    return {p.stem: load_template_file(p) for p in sorted(directory.glob("*.yaml"))}


def template(name: str) -> PromptTemplate:
    return load_templates()[name]
