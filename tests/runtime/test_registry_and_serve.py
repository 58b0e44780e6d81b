"""helpers.runtime.registry and helpers.runtime.serve."""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request

import pytest

from helpers.runtime.registry import DuplicateError, Registry, UnknownError
from helpers.runtime.serve import HEALTH_PATH, PortInUse, Server, bind


def test_registry_refuses_duplicates_and_names_the_known_items():
    things = Registry[int]("thing")
    things.add("one", 1)
    with pytest.raises(DuplicateError, match="thing 'one' is registered twice"):
        things.add("one", 2)
    with pytest.raises(UnknownError, match="unknown thing 'two'; known: one"):
        things.get("two")
    assert things.names() == ["one"] and list(things) == [1] and "one" in things


def _app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [environ["PATH_INFO"].encode()]


def test_server_serves_the_app_and_the_one_health_path():
    state = {"ready": False}
    with Server(_app, health=lambda: {"ready": state["ready"], "queued": 3}) as server:
        assert urllib.request.urlopen(server.url + "/x").read() == b"/x"
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(server.url + HEALTH_PATH)
        assert err.value.code == 503
        state["ready"] = True
        body = json.loads(urllib.request.urlopen(server.url + HEALTH_PATH).read())
        assert body == {"ready": True, "queued": 3}


def test_a_taken_port_names_the_setting_to_change():
    holder = bind("127.0.0.1", 0)
    port = holder.getsockname()[1]
    try:
        with pytest.raises(PortInUse, match=f"port {port} .*LAB_PORT_SPLUNK=<port>"):
            Server(_app, port=port, setting="LAB_PORT_SPLUNK")
    finally:
        holder.close()


def test_an_inherited_socket_is_served_on_its_port():
    sock = bind("127.0.0.1", 0)
    port = sock.getsockname()[1]
    with Server(_app, fd=sock.fileno()) as server:
        assert server.port == port
        assert urllib.request.urlopen(f"http://127.0.0.1:{port}/y").read() == b"/y"
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1)
