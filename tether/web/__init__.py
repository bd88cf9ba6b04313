"""The browser control panel: Flask app factory, REST API, Socket.IO push and MJPEG live view."""
from tether.web.app import create_app, socketio

__all__ = ["create_app", "socketio"]
