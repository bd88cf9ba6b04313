"""The virtual Lumix's PTP/IP framing and Panasonic encodings, spoken to by a raw socket client."""
from __future__ import annotations

import socket
import struct

import pytest

from tether.ptpip import datasets as ds
from tether.ptpip import packets as pk
from tether.ptpip import panasonic as pana


def _connect(server) -> tuple[socket.socket, socket.socket]:
    """Open command and event connections the way libgphoto2 does; returns both."""
    cmd = socket.create_connection((server.host, server.port), timeout=5)
    guid = bytes(range(16))
    cmd.sendall(pk.pack(pk.INIT_COMMAND_REQUEST, guid + pk.ucs2z("host") + struct.pack("<I", pk.PROTOCOL_VERSION)))
    ack = pk.read_packet(cmd)
    assert ack.kind == pk.INIT_COMMAND_ACK
    (number,) = struct.unpack_from("<I", ack.payload)
    name, _ = pk.parse_ucs2z(ack.payload, 20)
    assert name == "DMC-GX8"
    evt = socket.create_connection((server.host, server.port), timeout=5)
    evt.sendall(pk.pack(pk.INIT_EVENT_REQUEST, struct.pack("<I", number)))
    assert pk.read_packet(evt).kind == pk.INIT_EVENT_ACK
    return cmd, evt


def _request(sock: socket.socket, code: int, tid: int, *params: int, data: bytes | None = None):
    phase = pk.DATAPHASE_HOST_SENDS if data is not None else 1
    sock.sendall(pk.pack(pk.OPERATION_REQUEST, struct.pack(f"<IHI{len(params)}I", phase, code, tid, *params)))
    if data is not None:
        sock.sendall(pk.pack(pk.START_DATA, struct.pack("<IQ", tid, len(data))))
        if data:  # a zero-length phase is Start_Data alone, as libgphoto2 sends it
            sock.sendall(pk.pack(pk.END_DATA, struct.pack("<I", tid) + data))
    packet = pk.read_packet(sock)
    received = None
    if packet.kind == pk.START_DATA:
        (_, total) = struct.unpack_from("<IQ", packet.payload)
        end = pk.read_packet(sock)
        assert end.kind == pk.END_DATA
        received = end.payload[4:]
        assert len(received) == total
        packet = pk.read_packet(sock)
    assert packet.kind == pk.OPERATION_RESPONSE
    rc, rtid = struct.unpack_from("<HI", packet.payload)
    assert rtid == tid
    return rc, received


def test_device_info_presents_a_panasonic_gx8_with_its_operations(virtual_lumix):
    cmd, evt = _connect(virtual_lumix)
    rc, data = _request(cmd, ds.OC_GET_DEVICE_INFO, 0)
    assert rc == ds.RC_OK
    (_, vendor) = struct.unpack_from("<HI", data)
    assert vendor == 0x1C
    offset = 8 + 1 + 2 * data[8] + 2  # skip the extension description and the functional mode
    (count,) = struct.unpack_from("<I", data, offset)
    ops = set(struct.unpack_from(f"<{count}H", data, offset + 4))
    assert {0x9108, 0x9402, 0x9403, 0x9412, 0x9706, 0x9414, 0x9415, 0x9416, 0x1009, 0x9404} <= ops
    assert ds.ptp_string("Panasonic") + ds.ptp_string("DMC-GX8") in data
    cmd.close()
    evt.close()


def test_session_properties_focus_drive_and_empty_data_phases(virtual_lumix):
    responder = virtual_lumix.responder
    cmd, evt = _connect(virtual_lumix)
    assert _request(cmd, ds.OC_GET_STORAGE_IDS, 1)[0] == ds.RC_SESSION_NOT_OPEN
    assert _request(cmd, ds.OC_OPEN_SESSION, 2, 1)[0] == ds.RC_OK
    # An empty list still comes as Start_Data + End_Data.
    rc, handles = _request(cmd, ds.OC_GET_OBJECT_HANDLES, 3, 0xFFFFFFFF, 0, 0)
    assert rc == ds.RC_OK and handles == struct.pack("<I", 0)
    rc, value = _request(cmd, pana.OC_GET_PROPERTY, 4, 0x02000020)
    assert rc == ds.RC_OK and struct.unpack("<III", value) == (0x02000020, 4, 200)
    rc, _ = _request(cmd, pana.OC_SET_PROPERTY, 5, 0x02000021, data=struct.pack("<IHHI", 0x02000021, 4, 0, 800))
    assert rc == ds.RC_OK and responder.props.props[0x02000020].value == 800
    rc, _ = _request(cmd, pana.OC_SET_PROPERTY, 6, 0x02000021, data=struct.pack("<IHHI", 0x02000021, 4, 0, 123))
    assert rc == ds.RC_INVALID_PARAMETER
    # The exact 10-byte ManualFocusDrive data phase moves the motor; a zero-length one is refused.
    before = responder.counters.focus_drives
    rc, _ = _request(
        cmd, pana.OC_MANUAL_FOCUS_DRIVE, 7, pana.FOCUS_CONTROL, data=struct.pack("<IIH", pana.FOCUS_CONTROL, 2, 1)
    )
    assert rc == ds.RC_OK and responder.counters.focus_drives == before + 1
    rc, _ = _request(cmd, pana.OC_MANUAL_FOCUS_DRIVE, 8, pana.FOCUS_CONTROL, data=b"")
    assert rc == ds.RC_INVALID_PARAMETER
    rc, frame = _request(cmd, pana.OC_LIVEVIEW_IMAGE, 9)
    assert (
        rc == ds.RC_OK
        and frame.startswith(pana.LIVEVIEW_HEADER)
        and frame[len(pana.LIVEVIEW_HEADER) :][:2] == b"\xff\xd8"
    )
    assert b"\xff" not in pana.LIVEVIEW_HEADER
    # A capture announces the new object on the event connection.
    assert _request(cmd, pana.OC_INITIATE_CAPTURE, 10, 0x03000011)[0] == ds.RC_OK
    event = pk.read_packet(evt)
    assert event.kind == pk.EVENT
    code, _, handle = struct.unpack("<HII", event.payload)
    assert code == pana.EC_OBJECT_ADDED
    rc, jpeg = _request(cmd, ds.OC_GET_OBJECT, 11, handle)
    assert rc == ds.RC_OK and jpeg[:2] == b"\xff\xd8"
    assert all(s.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) for s in virtual_lumix._sockets)
    cmd.close()
    evt.close()


def test_unknown_first_packet_gets_init_fail(virtual_lumix):
    sock = socket.create_connection((virtual_lumix.host, virtual_lumix.port), timeout=5)
    sock.sendall(pk.pack(pk.OPERATION_REQUEST, struct.pack("<IHI", 1, 0x1001, 0)))
    assert pk.read_packet(sock).kind == pk.INIT_FAIL
    sock.close()


@pytest.mark.parametrize(
    "mode,expected", [(1, ("near", "large")), (2, ("near", "small")), (3, ("far", "small")), (4, ("far", "large"))]
)
def test_focus_modes_follow_libgphoto2_labels(mode, expected):
    data = struct.pack("<IIH", 0x03010011, 2, mode)
    direction, step = pana.FOCUS_MODES[pana.parse_focus_drive(data)]
    assert (direction.value, step.value) == expected
    assert pana.parse_focus_drive(struct.pack("<IIH", 0x03010012, 2, mode)) is None


def test_liveview_parameters_list_report_and_set_the_scene_cameras_size(virtual_lumix):
    scene = virtual_lumix.responder.camera
    cmd, evt = _connect(virtual_lumix)
    assert _request(cmd, ds.OC_OPEN_SESSION, 1, 1)[0] == ds.RC_OK
    # 0x0D800012: [code][size][u16 count][u16 8], then per mode [u16 height][u16 width][u16 x][u16 fps].
    rc, sizes = _request(cmd, pana.OC_GET_LIVEVIEW_PARAMETERS, 2, pana.LIVEVIEW_SIZES)
    assert rc == ds.RC_OK
    code, size, count, stride = struct.unpack_from("<IIHH", sizes)
    assert (code, size, stride) == (pana.LIVEVIEW_SIZES, len(sizes) - 8, 8)
    modes = [struct.unpack_from("<4H", sizes, 12 + 8 * i) for i in range(count)]
    assert modes == [(240, 320, 0, 30), (1080, 1920, 0, 30), (720, 1280, 0, 30), (360, 640, 0, 30)]
    rc, current = _request(cmd, pana.OC_GET_LIVEVIEW_PARAMETERS, 3, pana.LIVEVIEW_SIZE)
    assert rc == ds.RC_OK and current == struct.pack("<II4H", pana.LIVEVIEW_SIZE, 8, 240, 320, 0, 30)
    # 0x9415 carries the same block back; the scene camera renders at the new size.
    block = struct.pack("<II4H", pana.LIVEVIEW_SIZE, 8, 720, 1280, 0, 30)
    assert _request(cmd, pana.OC_SET_LIVEVIEW_PARAMETERS, 4, pana.LIVEVIEW_SIZE, data=block)[0] == ds.RC_OK
    assert scene.liveview_size() == (1280, 720)
    assert _request(cmd, pana.OC_GET_LIVEVIEW_PARAMETERS, 5, pana.LIVEVIEW_SIZE)[1] == block
    # A size the camera does not offer, or a block that is not a live-view size, changes nothing.
    odd = struct.pack("<II4H", pana.LIVEVIEW_SIZE, 8, 600, 800, 0, 30)
    assert _request(cmd, pana.OC_SET_LIVEVIEW_PARAMETERS, 6, pana.LIVEVIEW_SIZE, data=odd)[0] == ds.RC_INVALID_PARAMETER
    assert _request(cmd, pana.OC_SET_LIVEVIEW_PARAMETERS, 7, pana.LIVEVIEW_SIZE, data=b"")[0] == ds.RC_INVALID_PARAMETER
    assert scene.liveview_size() == (1280, 720)
    assert _request(cmd, pana.OC_GET_LIVEVIEW_PARAMETERS, 8, 0x0D800013)[0] == ds.RC_DEVICE_PROP_NOT_SUPPORTED
    cmd.close()
    evt.close()
