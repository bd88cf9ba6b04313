"""Virtual aperture: the scene refocused at a chosen point with a shallower depth of field.

Lytro's aperture control, with real optical blur instead of a synthetic one: the blur
of a point grows in proportion to its defocus and to 1/f-number, and in a focus sweep
the defocus of a point at index d in frame k is |k - d| steps. To render focus at
index f with the blur of f-number N' from frames shot at N, each pixel at depth d takes
the frame where its defocus is (N / N') |f - d|, on the same side as f:

    k(d) = d + (N / N') (f - d)

N' = N gives frame f itself; a wider aperture (N' < N) pushes every pixel further from
its sharp frame; N' = infinity gives the all-in-focus depth-map stack. The frames are
blended by :class:`~tether.imaging.depthmap_fusion.DepthmapFusion` with k in place
of the index map. Where k falls outside the sweep the farthest frame is used, so the
blur there is limited by what was captured.
"""
from __future__ import annotations

import numpy as np


def aperture_index_map(depth: np.ndarray, *, focus: float, f_number: float, captured_f_number: float,
                       frame_count: int) -> np.ndarray:
    """(H, W) float32 frame index per pixel that renders focus at ``focus`` (a frame index) at ``f_number``."""
    if f_number <= 0 or captured_f_number <= 0:
        raise ValueError("f-numbers must be positive")
    gain = captured_f_number / f_number
    k = depth + gain * (focus - depth)
    return np.clip(k, 0, frame_count - 1).astype(np.float32)
