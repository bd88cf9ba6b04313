"""The HTML shell every page shares (base.html): the navigation, and what the header and banner show."""
from __future__ import annotations

from flask import current_app, render_template

NAV = [("camera", "/", "Camera"), ("postfocus", "/postfocus", "Post Focus"), ("bursts", "/bursts", "Bursts")]


def render_page(name: str, **context: object) -> str:
    """templates/``name``.html in the shell, with its script static/js/``name``.js."""
    engine = current_app.extensions["tether.engine"]
    return render_template(f"{name}.html", page=name, nav=NAV, simulated=engine.simulated, fallback=engine.fallback,
                           primary_camera=engine.primary_camera, **context)
