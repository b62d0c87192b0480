"""CLI command modules, one per capability; each has `register(app: typer.Typer)`."""
