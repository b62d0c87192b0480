from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from prompts.questions import BANK_FILE, PLAN, load_bank, load_bank_file


def _write(tmp_path: Path, mutate) -> Path:  # type: ignore[no-untyped-def]
    data = yaml.safe_load(BANK_FILE.read_text(encoding="utf-8"))
    mutate(data)
    path = tmp_path / "bank.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_shipped_bank_is_complete() -> None:
    bank = load_bank()
    assert len(bank.questions) >= 40
    for q in bank.questions:
        assert q.text.en.strip() and q.text.zh.strip() and q.tip.en and q.tip.zh


def test_a_missing_translation_fails(tmp_path: Path) -> None:
    path = _write(tmp_path, lambda d: d["questions"][3]["text"].pop("zh"))
    with pytest.raises(ValidationError, match="zh"):
        load_bank_file(path)


def test_a_yes_no_question_fails(tmp_path: Path) -> None:
    def mutate(d):  # type: ignore[no-untyped-def]
        d["questions"][0]["text"] = {"en": "Did you finish the goal?", "zh": "你完成目标了吗？"}

    with pytest.raises(ValidationError, match="yes/no"):
        load_bank_file(_write(tmp_path, mutate))


def test_unknown_placeholder_or_extra_field_fails(tmp_path: Path) -> None:
    def placeholder(d):  # type: ignore[no-untyped-def]
        d["questions"][0]["text"] = {"en": "How is {goal} going?", "zh": "{goal} 进展如何？"}

    with pytest.raises(ValidationError, match="placeholder"):
        load_bank_file(_write(tmp_path, placeholder))
    with pytest.raises(ValidationError):
        load_bank_file(_write(tmp_path, lambda d: d["questions"][0].update(score=5)))


def test_plan_covers_the_topics_in_order_and_rotates() -> None:
    bank = load_bank()
    first, second = bank.plan(0), bank.plan(1)
    assert len(first) == sum(n for _, n in PLAN) == 8
    assert [bank.get(q).topic for q in first] == [t for t, n in PLAN for _ in range(n)]
    assert first != second and len(set(first)) == len(first)
