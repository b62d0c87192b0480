"""LLM prompt templates are data with a strict loader: a missing or stray variable fails."""

from __future__ import annotations

from pathlib import Path

import pytest

from prompts.llm_templates import TemplateError, load_template_file, load_templates

GOOD = """name: {name}
purpose: test
max_output_tokens: 50
variables: [language, answers]
system: "Write in {{language}}."
user: "{{answers}}"
"""


def test_the_shipped_templates_load_and_render_with_their_variables() -> None:
    templates = load_templates()
    assert set(templates) == {"extract", "follow_up", "learning_reply"}
    for tpl in templates.values():
        system, user = tpl.render(**{v: f"<{v}>" for v in tpl.variables})
        assert all(f"<{v}>" in system + user for v in tpl.variables)
        assert "{" not in system + user


def test_rendering_without_a_variable_fails() -> None:
    tpl = load_templates()["extract"]
    values = {v: "x" for v in tpl.variables if v != "answers"}
    with pytest.raises(TemplateError, match="answers"):
        tpl.render(**values)
    with pytest.raises(TemplateError, match="unexpected"):
        tpl.render(**values, answers="a", recipient="everyone")


@pytest.mark.parametrize("change, error", [
    (lambda t: t.replace("[language, answers]", "[language]"), "undeclared"),
    (lambda t: t.replace("[language, answers]", "[language, answers, channel]"), "unused"),
    (lambda t: t + "recipients: everyone\n", "Extra inputs"),
    (lambda t: t.replace("name: bad", "name: other"), "file name"),
])
def test_a_broken_template_file_fails_to_load(tmp_path: Path, change, error: str) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "bad.yaml"
    path.write_text(change(GOOD.format(name="bad")), encoding="utf-8")
    with pytest.raises(TemplateError, match=error):
        load_template_file(path)


def test_a_good_template_file_loads(tmp_path: Path) -> None:
    path = tmp_path / "good.yaml"
    path.write_text(GOOD.format(name="good"), encoding="utf-8")
    assert load_template_file(path).render(language="en", answers="a") == ("Write in en.", "a")
