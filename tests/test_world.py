"""The `lab` command's process management: ports, health, failures a person must see."""

from __future__ import annotations

import json
import socket
import textwrap

import pytest

from labstack import cli
from labstack import services as registry
from labstack.services import Service
from labstack.world import World, WorldError, free_port


@pytest.fixture
def only(monkeypatch, tmp_path):
    """Replace the registry with the given services for one test."""

    def install(*services: Service) -> World:
        monkeypatch.setattr(registry, "SERVICE_MODULES", [])
        monkeypatch.setattr(registry, "_REGISTRY", {s.name: s for s in services})
        return World(tmp_path / ".lab")

    return install


def _script_service(tmp_path, monkeypatch, name: str, body: str) -> Service:
    package = tmp_path / "pkgs" / f"fake_{name}"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "__main__.py").write_text(textwrap.dedent(body))
    monkeypatch.syspath_prepend(str(tmp_path / "pkgs"))
    monkeypatch.setenv("PYTHONPATH", str(tmp_path / "pkgs"))
    return Service(
        name=name,
        module=f"fake_{name}",
        ports={"api": free_port()},
        health="/health",
        settings=lambda ports, secrets: {f"{name.upper()}_URL": f"http://127.0.0.1:{ports['api']}",
                                         f"{name.upper()}_TOKEN": secrets["FAKE_TOKEN"]},
        secrets=("FAKE_TOKEN",),
    )  # fmt: skip


HEALTHY = """
import http.server, os
port = int(os.environ["LAB_PORT_{NAME}"])
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.end_headers(); self.wfile.write(b"ok")
    def log_message(self, *a): pass
http.server.HTTPServer(("127.0.0.1", port), H).serve_forever()
"""


def test_up_is_idempotent_writes_env_and_down_stops(only, tmp_path, monkeypatch):
    service = _script_service(tmp_path, monkeypatch, "echo", HEALTHY.replace("{NAME}", "ECHO"))
    world = only(service)
    first = world.up(timeout=30)
    assert [r.healthy for r in first] == [True]
    second = world.up(timeout=30)
    assert second[0].pid == first[0].pid, "a healthy service is left running"
    env = (world.home / "env").read_text()
    assert f"export ECHO_URL=http://127.0.0.1:{service.ports['api']}" in env
    token = json.loads((world.home / "config.json").read_text())["secrets"]["FAKE_TOKEN"]
    assert f"ECHO_TOKEN={token}" in env and len(token) >= 24
    assert world.down() == ["echo"]
    assert world.statuses()[0].pid is None


def test_port_in_use_is_named(only, tmp_path, monkeypatch):
    service = _script_service(tmp_path, monkeypatch, "echo", HEALTHY.replace("{NAME}", "ECHO"))
    world = only(service)
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", service.ports["api"]))
        blocker.listen()
        with pytest.raises(WorldError) as err:
            world.up(timeout=10)
    message = str(err.value)
    assert str(service.ports["api"]) in message and "LAB_PORT_ECHO" in message
    assert not (world.home / "run" / "echo.json").exists()


def test_a_service_that_dies_shows_its_log(only, tmp_path, monkeypatch):
    crash = "import sys\nprint('cannot open the database: disk full')\nsys.exit(3)\n"
    world = only(_script_service(tmp_path, monkeypatch, "crashy", crash))
    with pytest.raises(WorldError) as err:
        world.up(timeout=30)
    assert "crashy exited with code 3" in str(err.value)
    assert "disk full" in str(err.value)


def test_port_override_and_status_json(only, tmp_path, monkeypatch, capsys):
    service = _script_service(tmp_path, monkeypatch, "echo", HEALTHY.replace("{NAME}", "ECHO"))
    world = only(service)
    port = free_port()
    monkeypatch.setenv("LAB_HOME", str(world.home))
    monkeypatch.setenv("LAB_PORT_ECHO", str(port))
    try:
        assert cli.main(["up", "--detach"]) == 0
        capsys.readouterr()
        assert cli.main(["status", "--json"]) == 0
        (status,) = json.loads(capsys.readouterr().out)
        assert status["ports"] == {"api": port} and status["healthy"] is True
        assert cli.main(["env"]) == 0
        assert f"ECHO_URL=http://127.0.0.1:{port}" in capsys.readouterr().out
    finally:
        cli.main(["down"])
    assert cli.main(["status"]) == 3, "status exits non-zero when something is down"


def test_cli_errors_are_one_line(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("LAB_HOME", str(tmp_path / ".lab"))
    assert cli.main(["env"]) == 2
    assert "lab up" in capsys.readouterr().err
    assert cli.main(["up", "--port", "aws=notaport"]) == 2
    assert "SERVICE=PORT" in capsys.readouterr().err
