"""The `lab` command's process management: ports, health, failures a person must see."""

from __future__ import annotations

import json
import socket
import textwrap

import pytest

from labstack import cli, process
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


def _script_service(
    tmp_path, monkeypatch, name: str, body: str, ports: dict[str, int] | None = None
) -> Service:
    package = tmp_path / "pkgs" / f"fake_{name}"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "__main__.py").write_text(textwrap.dedent(body).replace("{name}", name))
    monkeypatch.syspath_prepend(str(tmp_path / "pkgs"))
    monkeypatch.setenv("PYTHONPATH", str(tmp_path / "pkgs"))
    return Service(
        name=name,
        module=f"fake_{name}",
        ports=ports or {"api": 0},  # 0: any free port, so the tests never need a fixed one
        settings=lambda ports, secrets, scheme: {
            f"{name.upper()}_URL": f"{scheme}://127.0.0.1:{ports['api']}",
            f"{name.upper()}_TOKEN": secrets["FAKE_TOKEN"],
        },
        secrets=("FAKE_TOKEN",),
    )  # fmt: skip


#: A service as the real ones are written: it serves on the sockets the world hands it.
HEALTHY = """
from helpers.runtime.serve import Server, listener, run
def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]
fd, port = listener("{name}")
run([Server(app, fd=fd, port=port)])
"""


def _held() -> socket.socket:
    """A port another program holds (this test's socket, on a port the system picked)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    return sock


def test_up_is_idempotent_writes_env_and_down_stops(only, tmp_path, monkeypatch):
    world = only(_script_service(tmp_path, monkeypatch, "echo", HEALTHY))
    first = world.up(timeout=30)
    assert [r.healthy for r in first] == [True]
    second = world.up(timeout=30)
    assert second[0].pid == first[0].pid, "a healthy service is left running"
    env = (world.home / "env").read_text()
    assert f"export ECHO_URL=http://127.0.0.1:{first[0].ports['api']}" in env
    token = json.loads((world.home / "config.json").read_text())["secrets"]["FAKE_TOKEN"]
    assert f"ECHO_TOKEN={token}" in env and len(token) >= 24
    assert world.down() == ["echo"]
    assert world.statuses()[0].pid is None


@pytest.mark.stack
def test_the_settings_name_the_scheme_the_running_service_speaks(tmp_path):
    """A world's own environment turns Splunk's HTTPS on, and a later ``up`` without it (a
    second shell) keeps writing the https URL of the Splunk that is still running."""
    home = tmp_path / ".lab"
    world = World(home, only=("splunk",), free_ports=True, env={"LAB_SPLUNK_TLS": "on"})
    try:
        (running,) = world.up(timeout=60)
        assert running.healthy and running.scheme == "https"
        assert world.read_env()["SPLUNK_URL"] == running.url.rstrip("/")
        assert world.read_env()["SPLUNK_URL"].startswith("https://")
        hec = world.read_env()["SPLUNK_HEC_URL"]
        assert hec.startswith("https://") and world.read_env()["SPLUNK_HEC_VERIFY"] == "false"
        again = World(home, only=("splunk",), free_ports=True)
        assert again.up(timeout=60)[0].pid == running.pid
        assert again.read_env()["SPLUNK_URL"].startswith("https://")
    finally:
        world.down()


def test_every_port_in_use_is_named_at_once(only, tmp_path, monkeypatch):
    with _held() as a, _held() as b, _held() as c:
        taken = [s.getsockname()[1] for s in (a, b, c)]
        world = only(
            _script_service(tmp_path, monkeypatch, "echo", HEALTHY, {"api": taken[0]}),
            _script_service(
                tmp_path, monkeypatch, "two", HEALTHY, {"api": taken[1], "hec": taken[2]}
            ),
        )
        with pytest.raises(WorldError) as err:
            world.up(timeout=10)
    message = str(err.value)
    for port, setting in zip(
        taken, ["LAB_PORT_ECHO", "LAB_PORT_TWO", "LAB_PORT_TWO_HEC"], strict=True
    ):
        assert f"port {port} " in message and f"{setting}=<port>" in message
    assert not list((world.home / "run").glob("*.json")), "nothing was started"


def test_lab_up_lists_every_clash(only, tmp_path, monkeypatch, capsys):
    with _held() as a, _held() as b:
        echo, hec = a.getsockname()[1], b.getsockname()[1]
        only(
            _script_service(tmp_path, monkeypatch, "echo", HEALTHY, {"api": 0}),
            _script_service(tmp_path, monkeypatch, "two", HEALTHY, {"api": 0, "hec": 0}),
        )
        monkeypatch.setenv("LAB_HOME", str(tmp_path / ".lab"))
        monkeypatch.setenv("LAB_PORT_ECHO", str(echo))
        monkeypatch.setenv("LAB_PORT_TWO_HEC", str(hec))
        assert cli.main(["up", "--detach"]) == 2
    err = capsys.readouterr().err
    assert f"port {echo} (echo api): set LAB_PORT_ECHO=<port>" in err
    assert f"port {hec} (two hec): set LAB_PORT_TWO_HEC=<port>" in err
    assert "LAB_PORT_TWO=" not in err, "a free port is not reported"


def test_a_port_taken_at_the_wrong_moment_does_not_fail_the_world(tmp_path, monkeypatch, only):
    """Another program grabs each port between binding and the child starting, and takes the
    service's default port too: the world still comes up, on the ports it bound."""
    with _held() as default:
        service = _script_service(
            tmp_path, monkeypatch, "echo", HEALTHY, {"api": default.getsockname()[1]}
        )
        only(service)
        real_start = process.start
        thefts = []

        def start_while_another_program_binds(service, sockets, env, log=None):
            for sock in sockets.values():
                with socket.socket() as thief:
                    try:
                        thief.bind(("127.0.0.1", sock.getsockname()[1]))
                        thief.listen()
                        thefts.append("took it")
                    except OSError:
                        thefts.append("refused")
            return real_start(service, sockets, env, log)

        monkeypatch.setattr(process, "start", start_while_another_program_binds)
        with World.scratch(tmp_path / "scratch" / ".lab") as world:
            (running,) = world.statuses()
            assert running.healthy and running.ports["api"] != default.getsockname()[1]
            assert thefts == ["refused"]
            pid = running.pid
        assert not process.alive(pid), "scratch stops what it started"


def test_a_service_that_dies_shows_its_log(only, tmp_path, monkeypatch):
    crash = "import sys\nprint('cannot open the database: disk full')\nsys.exit(3)\n"
    world = only(_script_service(tmp_path, monkeypatch, "crashy", crash))
    with pytest.raises(WorldError) as err:
        world.up(timeout=30)
    assert "crashy exited with code 3" in str(err.value)
    assert "disk full" in str(err.value)


def test_port_override_and_status_json(only, tmp_path, monkeypatch, capsys):
    service = _script_service(tmp_path, monkeypatch, "echo", HEALTHY)
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
