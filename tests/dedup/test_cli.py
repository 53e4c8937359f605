from __future__ import annotations

from typer.testing import CliRunner

from sciforge.cli.dedup import app


def test_params_prints_bands_rows_and_s_curve() -> None:
    r = CliRunner().invoke(app, ["params", "--threshold", "0.8", "--fp-weight", "0.5", "--fn-weight", "0.5"])
    assert r.exit_code == 0, r.output
    assert "9 bands x 13 rows" in r.output and "J=0.90" in r.output


def test_config_shows_defaults() -> None:
    r = CliRunner().invoke(app, ["config"])
    assert r.exit_code == 0 and '"threshold": 0.8' in r.output
