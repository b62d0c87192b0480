import pytest

from bot.settings import SettingsError, load_settings


def test_serve_names_the_missing_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    s = load_settings()
    with pytest.raises(SettingsError, match="SLACK_BOT_TOKEN"):
        s.require_slack()


@pytest.mark.parametrize(
    ("var", "value"),
    [
        ("GROWTHLOOP_DEFAULT_TIMEZONE", "Mars/Olympus"),
        ("GROWTHLOOP_DEFAULT_LOCALE", "fr"),
        ("SLACK_API_URL", "ftp://x"),
        ("DATABASE_URL", "not a url"),
        ("CHROMA_URL", "localhost:8000"),
    ],
)
def test_malformed_value_is_one_line_naming_it(monkeypatch: pytest.MonkeyPatch, var: str, value: str) -> None:
    monkeypatch.setenv(var, value)
    with pytest.raises(SettingsError) as err:
        load_settings()
    assert str(err.value).startswith(var)
    assert "\n" not in str(err.value)


def test_defaults_follow_the_contract(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    for v in ("DATABASE_URL", "SLACK_API_URL", "GROWTHLOOP_DEFAULT_TIMEZONE", "GROWTHLOOP_DEFAULT_LOCALE"):
        monkeypatch.delenv(v, raising=False)
    monkeypatch.setenv("GROWTHLOOP_DATA_DIR", str(tmp_path))
    s = load_settings()
    assert s.slack_api_url == "https://slack.com/api/"
    assert s.resolved_database_url.startswith("sqlite:///") and s.resolved_database_url.endswith("growthloop.db")
    assert (s.growthloop_default_timezone, s.growthloop_default_locale) == ("UTC", "en")
    assert not s.llm_enabled
