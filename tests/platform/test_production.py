"""Production settings: secure by default, refuse to start half-configured."""

import os
import subprocess
import sys

import pytest

from tests.constants import ROOT


def manage(*args, **env):
    full_env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "ALLOWED_HOSTS", "DEBUG")}
    full_env.update(env)
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=full_env, capture_output=True, text=True)


def test_production_settings_pass_the_deploy_check():
    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        CATALOG_PRODUCTION="1",
        SECRET_KEY="x" * 60 + "a-long-random-production-key",
        ALLOWED_HOSTS="catalog.example.org",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize("missing", ["SECRET_KEY", "ALLOWED_HOSTS"])
def test_production_refuses_to_start_without_required_settings(missing):
    env = {"CATALOG_PRODUCTION": "1", "SECRET_KEY": "k" * 60, "ALLOWED_HOSTS": "catalog.example.org"}
    env.pop(missing)
    result = manage("check", **env)
    assert result.returncode != 0 and f"{missing} must be set in production" in result.stderr


@pytest.mark.django_db
def test_pages_send_a_csp_without_inline_script_and_security_headers(client):
    response = client.get("/")
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert response["X-Frame-Options"] == "DENY" and response["X-Content-Type-Options"] == "nosniff"
