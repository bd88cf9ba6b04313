"""Camera ids: the strings users type, split once into what the drivers need."""
from __future__ import annotations

import socket

import pytest

from tether.camera.errors import CameraNotFound
from tether.camera.ids import parse_camera_id, ptpip_answers
from tether.camera.registry import default_camera_id, is_simulated, open_camera
from tether.camera.sim import SimCamera
from tether.config import Settings


@pytest.mark.parametrize(("text", "host", "port", "event_port"), [
    ("ptpip:10.0.0.5", "10.0.0.5", 15740, 15740),
    ("ptpip:10.0.0.5:15741", "10.0.0.5", 15741, 15741),
    ("ptpip:camera.local:15741:15999", "camera.local", 15741, 15999),
    ("PTPIP:10.0.0.5:?faults=none", "10.0.0.5", 15740, 15740),
    ("usb:001,005", "", 0, 0),
    ("sim:macro", "", 0, 0),
])
def test_a_ptpip_id_names_host_port_and_event_port(text: str, host: str, port: int, event_port: int) -> None:
    camera_id = parse_camera_id(text)
    assert (camera_id.host, camera_id.port, camera_id.event_port) == (host, port, event_port)


def test_options_stay_apart_from_the_address() -> None:
    camera_id = parse_camera_id("sim:macro?busy_rate=0.1&seed=3")
    assert camera_id.without_options == "sim:macro"
    assert camera_id.options == {"busy_rate": "0.1", "seed": "3"}
    assert str(camera_id) == "sim:macro?busy_rate=0.1&seed=3"


@pytest.mark.parametrize("text", ["ptpip:", "ptpip::15740", "ptpip:host:port", "ptpip:host:70000",
                                  "ptpip:host:1:2:3", "fire wire:1", "sim?busy_rate"])
def test_malformed_ids_are_refused_with_the_forms_that_work(text: str) -> None:
    with pytest.raises(CameraNotFound) as refused:
        parse_camera_id(text)
    assert text in refused.value.message


def test_ptpip_answers_only_when_something_listens() -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        assert ptpip_answers(parse_camera_id(f"ptpip:127.0.0.1:{port}"))
    assert not ptpip_answers(parse_camera_id(f"ptpip:127.0.0.1:{port}"))


def test_the_driver_table_decides_what_an_id_opens() -> None:
    assert isinstance(open_camera("sim:product", Settings()), SimCamera)  # in this process, not supervised
    with pytest.raises(CameraNotFound, match="no camera 'firewire:1'") as refused:
        open_camera("firewire:1", Settings())
    assert "ptpip:" in refused.value.hint
    assert is_simulated("sim:macro?seed=2") and not is_simulated("usb:001,005") and not is_simulated("firewire:1")


def test_a_configured_default_camera_says_whether_it_is_simulated() -> None:
    def configured(camera_id: str) -> Settings:
        return Settings().with_overrides({"camera": {"default": camera_id}})

    assert default_camera_id(configured("sim:landscape")) == ("sim:landscape", True)
    assert default_camera_id(configured("usb:001,005")) == ("usb:001,005", False)
