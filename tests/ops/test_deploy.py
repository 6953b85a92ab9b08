"""Deployment as a newcomer does it: .env read by `make run` and `make serve`, the container's
bind whatever its env file says, a landing page at /, what `make run` installs, and an Alexa
deploy that writes outside the tracked files."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from skill import config
from skill.channels import alexa_model
from skill.cli import alexa_model as alexa_cli
from tests.common import ROOT, free_port
from tests.servers import APP_SPEC
from tests.texting import PATH, form, signature

BIN = Path(sys.executable).parent


def _wait_up(proc: subprocess.Popen, url: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
        try:
            if requests.get(url + "/healthz", timeout=1).ok:
                return
        except requests.RequestException:
            time.sleep(0.1)
    raise AssertionError(f"nothing answered on {url}")


def _signed_status(url: str, token: str) -> int:
    fields = form(body="hello")
    headers = {"X-Twilio-Signature": signature(url + PATH, fields, token)}
    return requests.post(url + PATH, data=fields, headers=headers, timeout=20).status_code


def _serve(command: list[str], cwd: Path, env: dict, url: str):
    proc = subprocess.Popen(
        command,
        cwd=cwd,
        env={"PATH": os.environ["PATH"], **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        _wait_up(proc, url)
    except BaseException:
        proc.kill()
        raise
    return proc


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    proc.wait(timeout=15)


def test_make_run_reads_dotenv_and_the_environment_wins(tmp_path):
    port = free_port()
    (tmp_path / ".env").write_text(
        f"# as copied from .env.example\nPORT={port}\nTWILIO_AUTH_TOKEN=token-in-file\n"
        f"STATE_URL=sqlite:///{tmp_path / 'state.db'}\nSTATE_SECRET=s\n"
    )
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "skill", "run"]  # what `make run` starts
    proc = _serve(command, tmp_path, {}, url)  # PORT came from the file: it answers there
    try:
        assert _signed_status(url, "token-in-file") == 200
        assert _signed_status(url, "another-token") == 403
    finally:
        _stop(proc)
    proc = _serve(command, tmp_path, {"TWILIO_AUTH_TOKEN": "token-in-env"}, url)
    try:
        assert _signed_status(url, "token-in-env") == 200
        assert _signed_status(url, "token-in-file") == 403
    finally:
        _stop(proc)


def test_make_serve_reads_the_env_file_in_gunicorn_and_its_workers(tmp_path):
    port = free_port()
    env_file = tmp_path / "settings.env"
    env_file.write_text(
        f"PORT={port}\nWEB_CONCURRENCY=1\nTWILIO_AUTH_TOKEN=token-in-file\nSTATE_SECRET=s\n"
        f"STATE_URL=sqlite:///{tmp_path / 'state.db'}\nPROMETHEUS_MULTIPROC_DIR={tmp_path}\n"
    )
    url = f"http://127.0.0.1:{port}"
    command = [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", APP_SPEC]  # `make serve`
    proc = _serve(command, ROOT, {"ENV_FILE": str(env_file)}, url)
    try:
        assert _signed_status(url, "token-in-file") == 200
        assert _signed_status(url, "another-token") == 403
    finally:
        _stop(proc)


def test_env_file_is_read_as_docker_reads_it(tmp_path):
    path = tmp_path / ".env"
    path.write_text('# comment\n\nA=1\nB=x=y # kept\nC="quoted"\n  D= spaced \nE=\n')
    values = config.read_env_file(path)
    assert values == {"A": "1", "B": "x=y # kept", "C": '"quoted"', "D": " spaced ", "E": ""}
    assert config.read_env_file(tmp_path / "missing.env") == {}
    for wrong in ("export B=2", "B = 2", "B"):
        path.write_text(f"A=1\n{wrong}\n")
        with pytest.raises(config.SettingsError, match=r"line 2: expected NAME=value"):
            config.read_env_file(path)


def _dockerfile() -> str:
    return (ROOT / "Dockerfile").read_text()


def _image_env() -> dict[str, str]:
    """The environment the image sets, as `ENV NAME=value \\` lines."""
    block = re.search(r"^ENV (.*?)\n(?=\S)", _dockerfile(), re.M | re.S).group(1)
    return dict(pair.split("=", 1) for pair in block.replace("\\\n", " ").split())


def test_container_listens_where_expose_and_healthcheck_say_whatever_the_env_file_says():
    # `docker run --env-file .env` with .env copied from .env.example, the image's ENV beneath.
    env = {**_image_env(), **config.read_env_file(ROOT / ".env.example")}
    env |= {"HOST": "127.0.0.1", "PORT": "5000"}  # even a .env that sets them for `make run`
    cmd = json.loads(re.search(r"^CMD (\[.*\])$", _dockerfile(), re.M).group(1))
    # gunicorn's own reading of its command line and config file, as the container starts it.
    read_bind = (
        "import sys; from gunicorn.app.wsgiapp import WSGIApplication; "
        f"sys.argv = {cmd!r}; print(WSGIApplication().cfg.bind)"
    )
    done = subprocess.run(
        [sys.executable, "-c", read_bind],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": os.environ["PATH"], "ENV_FILE": "/nonexistent", **env},
    )
    assert done.returncode == 0, done.stderr
    exposed = re.search(r"^EXPOSE (\d+)$", _dockerfile(), re.M).group(1)
    checked = re.search(r"HEALTHCHECK .*?http://127\.0\.0\.1:(\d+)/healthz", _dockerfile(), re.S)
    assert done.stdout.strip() == f"['0.0.0.0:{exposed}']" and checked.group(1) == exposed
    # And the container stays in production: .env.example does not switch it to development.
    filled = {"STATE_SECRET": "a-long-random-secret", "TWILIO_AUTH_TOKEN": "token"}
    settings = config.from_env({**env, **filled})
    assert settings.app_env == "production"


def test_landing_page_says_what_this_is_and_where_to_look(client, script):
    response = client.get("/")
    assert response.status_code == 200 and response.mimetype == "text/html"
    page = response.text
    assert f"<h1>{script.name}</h1>" in page
    assert 'href="/healthz"' in page and "docs/deploy.md" in page
    assert (ROOT / "docs" / "deploy.md").is_file()
    assert response.headers["Content-Security-Policy"] == "default-src 'none'"
    assert response.headers["X-Frame-Options"] == "DENY"


def _make_would_run(target: str) -> str:
    """What `make TARGET` would run on a fresh clone (nothing is run: -n, all out of date: -B)."""
    done = subprocess.run(
        ["make", "-n", "-B", target], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_make_run_installs_what_serving_needs_and_make_test_the_test_tools():
    installs = [line for line in _make_would_run("run").splitlines() if "pip install -q -e" in line]
    assert installs == [".venv/bin/pip install -q -e '.[serve]'"]
    assert ".venv/bin/pip install -q -e '.[test,serve]'" in _make_would_run("test")


def test_alexa_deploy_writes_its_endpoint_and_certificate_under_build_not_tracked_files(
    tmp_path, script, capsys
):
    from skill.__main__ import main

    tracked = {p: p.read_bytes() for p in alexa_model.PACKAGE_DIR.rglob("*.json")}
    args = ["alexa-model", "--endpoint", "https://hips.example.org/alexa", "--certificate"]
    assert main([*args, "Wildcard", "--out", str(tmp_path)]) == 0
    manifest = json.loads((tmp_path / "skill-package" / "skill.json").read_text())
    assert manifest["manifest"]["apis"]["custom"]["endpoint"] == {
        "uri": "https://hips.example.org/alexa",
        "sslCertificateType": "Wildcard",
    }
    resources = json.loads((tmp_path / "ask-resources.json").read_text())
    assert resources["profiles"]["default"]["skillMetadata"]["src"] == "./skill-package"
    models = sorted(p.name for p in (tmp_path / "skill-package").rglob("*.json"))
    assert models == ["en-GB.json", "en-US.json", "skill.json"]
    assert main([*args, "Trusted", "--out", str(tmp_path)]) == 0
    manifest = json.loads((tmp_path / "skill-package" / "skill.json").read_text())
    assert manifest["manifest"]["apis"]["custom"]["endpoint"]["sslCertificateType"] == "Trusted"
    assert {p: p.read_bytes() for p in alexa_model.PACKAGE_DIR.rglob("*.json")} == tracked
    # The default place is ignored by git, so `ask deploy` there changes nothing tracked.
    default = alexa_cli.DEPLOY_DIR / "skill-package" / "skill.json"
    ignored = subprocess.run(["git", "check-ignore", "-q", str(default)], cwd=ROOT)
    assert ignored.returncode == 0
    assert main(["alexa-model", "--endpoint", "http://plain.example.org/alexa"]) == 2
