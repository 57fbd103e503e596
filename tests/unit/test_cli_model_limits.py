"""`modelport keys create --model` and `users create --model` store the limits the server enforces."""

from __future__ import annotations

import asyncio
import re
import shlex
from pathlib import Path

from typer.testing import CliRunner

from modelport.bootstrap import build_services
from modelport.cli import app
from modelport.security.principal import Principal
from modelport.settings import Settings


async def _principal(key: str) -> Principal:
    # the CLI's home (MODELPORT_HOME); no demo models: a first start would register them (and the
    # text ones) only to resolve a key
    services = build_services(Settings(_env_file=None, demo_models=False))  # type: ignore[call-arg]
    await services.start()
    try:
        return await services.auth.resolve(f"Bearer {key}", None)
    finally:
        await services.close()


def test_keys_and_users_created_with_model_patterns(cli_artifact: Path) -> None:
    runner = CliRunner()
    r = runner.invoke(app, ["users", "create", "fraud-team", "--password", "long-enough-pw",
                            "--model", "fraud-*"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["keys", "create", "--scope", "predict", "--owner", "fraud-team",
                            "--model", "fraud-eu", "--model", "iris"])
    assert r.exit_code == 0, r.output
    key = r.stdout.strip().splitlines()[-1]
    principal = asyncio.run(_principal(key))
    assert principal.models == (("fraud-eu", "iris"), ("fraud-*",))  # the key's list, then its owner's
    r = runner.invoke(app, ["keys", "create", "--scope", "predict", "--owner", "fraud-team",
                            "--model", "../etc"])
    assert r.exit_code != 0 and "invalid model pattern" in r.output


def test_the_readme_command_creates_a_limited_key(cli_artifact: Path) -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    found = re.search(r"<!-- model-limits-snippet.*?-->\n```bash\n(.*?)```", readme, re.DOTALL)
    assert found, "README lost its model-limits snippet"
    runner = CliRunner()
    r = runner.invoke(app, ["users", "create", "admin", "--password", "long-enough-pw", "--role", "admin"])
    assert r.exit_code == 0, r.output
    for line in found.group(1).strip().splitlines():
        argv = shlex.split(line)
        assert argv[0] == "modelport"
        r = runner.invoke(app, argv[1:])
        assert r.exit_code == 0, r.output
    principal = asyncio.run(_principal(r.stdout.strip().splitlines()[-1]))
    assert principal.models == (("fraud-*", "iris"),)
