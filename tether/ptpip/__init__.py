"""A virtual Panasonic Lumix speaking PTP/IP, so the libgphoto2 driver is tested end to end without hardware.

Pure Python (no gphoto2): ``VirtualLumix`` answers PTP operations over a simulated camera,
``PtpIpServer`` serves it on TCP the way a Lumix does on Wi-Fi.
"""
from tether.ptpip.responder import VirtualLumix
from tether.ptpip.server import PtpIpServer

__all__ = ["PtpIpServer", "VirtualLumix"]
