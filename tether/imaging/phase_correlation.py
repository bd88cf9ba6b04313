"""Phase correlation on a grid of patches: the aligner's first guess of how a frame moved.

Phase correlation (Kuglin & Hines 1975) ignores the magnitude spectrum, so a blur difference
barely moves it, and it finds motions of many pixels; a patch locates its shift to about a
tenth of a pixel. :func:`estimate_motion` fits the patches' shifts with a robust similarity;
:class:`~tether.imaging.align.ChainAligner` refines that with ECC.
"""
from __future__ import annotations

import functools

import numpy as np

from tether.imaging.transforms import IDENTITY, project

_CHUNK = 12
#: Patches a side at most. 6 x 6 fix 4 parameters many times over: measured on 100-frame breathing
#: sweeps, 10 x 10 put the corners in the same places and take 10 ms more a 1080p frame.
_GRID = 6


def patch_shifts(template: np.ndarray, image: np.ndarray, corners: np.ndarray, patch: int, *,
                 peak: float | None = None, spectra: KeyframeSpectra | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Phase-correlation shift (dx, dy) of ``image`` against ``template`` in square patches.

    ``corners`` (n, 2) are patch top-left (x, y). Returns shifts (n, 2) and the peak's
    height over the correlation's spread (n,) as confidence. The cross-power spectrum is
    tapered by a Gaussian so the correlation peak is a Gaussian of ``peak`` px (default
    patch/16), which a parabola through its log locates to a tenth of a pixel. The taper
    matters: a defocused lens blurs with a disk, whose spectrum changes sign in rings, and
    two different disks split an untapered peak into a ring that the maximum lands on.
    (numpy's FFT, one batched transform for all patches; cv2.phaseCorrelate is avoided
    because some OpenCV builds give call-to-call different answers.) ``spectra`` keeps the
    template's side for the next call with the same template.
    """
    peak = patch / 16 if peak is None else peak
    if len(corners) > _CHUNK:  # in chunks: the complex spectra of 100 large patches would take 300 MB
        parts = [patch_shifts(template, image, corners[i:i + _CHUNK], patch, peak=peak, spectra=spectra)
                 for i in range(0, len(corners), _CHUNK)]
        return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
    window, taper = _patch_filters(patch, peak)
    b = np.stack([image[y:y + patch, x:x + patch] for x, y in corners])
    b = (b - b.mean(axis=(1, 2), keepdims=True)) * window
    own = (patch_spectra(template, corners, patch, window) if spectra is None
           else spectra.get(template, corners, patch, window))
    cross = np.fft.rfft2(b) * own
    cross /= np.abs(cross) + 1e-9
    cross *= taper
    corr = np.fft.irfft2(cross, s=(patch, patch))
    corr = np.fft.fftshift(corr, axes=(1, 2))
    n = corr.shape[0]
    flat = corr.reshape(n, -1).argmax(axis=1)
    py, px = np.clip(flat // patch, 1, patch - 2), np.clip(flat % patch, 1, patch - 2)
    idx = np.arange(n)
    peak = corr[idx, py, px]

    def log(rows: np.ndarray, cols: np.ndarray) -> np.ndarray:  # only where the parabolas need it
        out: np.ndarray = np.log(np.maximum(corr[idx, rows, cols], 1e-12))
        return out

    def vertex(m: np.ndarray, c: np.ndarray, p: np.ndarray) -> np.ndarray:
        den = m - 2 * c + p
        return np.where(den < -1e-12, 0.5 * (m - p) / np.where(den < -1e-12, den, -1.0), 0.0)

    centre = log(py, px)
    dx = px + vertex(log(py, px - 1), centre, log(py, px + 1)) - patch // 2
    dy = py + vertex(log(py - 1, px), centre, log(py + 1, px)) - patch // 2
    norm = corr.reshape(n, -1).std(axis=1) + 1e-12
    return np.stack([dx, dy], axis=1), peak / norm


@functools.cache
def _patch_filters(patch: int, peak: float) -> tuple[np.ndarray, np.ndarray]:
    """The Hann window (patch, patch) of :func:`patch_shifts` and its Gaussian taper of the cross-power spectrum."""
    window = np.outer(np.hanning(patch), np.hanning(patch)).astype(np.float32)
    fy = np.fft.fftfreq(patch)[:, None]
    fx = np.fft.rfftfreq(patch)[None, :]
    taper = np.exp(-(fx ** 2 + fy ** 2) * (2 * np.pi ** 2 * peak ** 2)).astype(np.float32)
    window.flags.writeable = taper.flags.writeable = False  # shared by every call
    return window, taper


class KeyframeSpectra:
    """The conjugate patch spectra of one template (a keyframe), kept while the template stays the same.

    Owned by the object that registers one sequence of frames (a :class:`ChainAligner`), so
    sequences registered at the same time on other threads neither see nor drop each other's;
    it goes with its owner (several MB for large patches).
    """

    def __init__(self) -> None:
        self._template: np.ndarray | None = None
        self._spectra: dict[tuple[bytes, int], np.ndarray] = {}

    def get(self, template: np.ndarray, corners: np.ndarray, patch: int, window: np.ndarray) -> np.ndarray:
        """The spectra of ``template``'s patches at ``corners``, made on first use for this template."""
        if template is not self._template:
            self._template, self._spectra = template, {}
        key = (corners.tobytes(), patch)
        spectra = self._spectra.get(key)
        if spectra is None:
            spectra = self._spectra[key] = patch_spectra(template, corners, patch, window)
        return spectra


def patch_spectra(template: np.ndarray, corners: np.ndarray, patch: int, window: np.ndarray) -> np.ndarray:
    """Conjugate spectra (n, patch, patch // 2 + 1) complex64 of the windowed, zero-mean patches at ``corners``."""
    a = np.stack([template[y:y + patch, x:x + patch] for x, y in corners])
    a = (a - a.mean(axis=(1, 2), keepdims=True)) * window
    return np.conj(np.fft.rfft2(a)).astype(np.complex64)  # half the memory, ample precision


def estimate_motion(template: np.ndarray, image: np.ndarray, *, patch: int | None = None,
                    spectra: KeyframeSpectra | None = None) -> np.ndarray:
    """Similarity transform (3x3) mapping (x, y) of ``template`` to ``image``, both (h, w) float32 grey.

    Phase correlation on a grid of patches gives a local shift per patch (phase is blind
    to symmetric blur, so a focus change barely biases it); a weighted, outlier-trimmed
    least-squares fit turns the shifts into scale, rotation and shift. Returns
    identity when too few patches carry texture. ``spectra``: see :func:`patch_shifts`.
    """
    h, w = template.shape
    patch = patch or (256 if min(h, w) >= 1200 else 128 if min(h, w) >= 480 else 64 if min(h, w) >= 200 else 32)
    if min(h, w) < patch:
        return IDENTITY.copy()
    # Half-overlapping patches, at most _GRID a side.
    ys = np.linspace(0, h - patch, min(_GRID, max(2, 2 * h // patch - 1))).astype(int)
    xs = np.linspace(0, w - patch, min(_GRID, max(2, 2 * w // patch - 1))).astype(int)
    corners = np.array([(x, y) for y in ys for x in xs])
    shifts, strength = patch_shifts(template, image, corners, patch, spectra=spectra)
    p = corners + (patch - 1) / 2
    q = p + shifts
    # Peak-to-spread ratio: textured patches score far above flat or noisy ones.
    wt = np.maximum(strength - 5.0, 0.0)
    keep = wt > 0.1 * max(wt.max(), 1e-9)
    m = IDENTITY.copy()
    for _ in range(3):
        if keep.sum() < 3:
            return IDENTITY.copy()
        m = _fit_similarity(p[keep], q[keep], wt[keep])
        residual = np.linalg.norm(project(m, p) - q, axis=1)
        keep = (wt > 0.1 * wt.max()) & (residual <= max(0.25, 3.0 * float(np.median(residual[keep]))))
    return m


def _fit_similarity(p: np.ndarray, q: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Weighted least-squares [[a, -b, tx], [b, a, ty], [0, 0, 1]] taking points p (n, 2) to q (n, 2)."""
    x, y = p[:, 0], p[:, 1]
    one, zero = np.ones_like(x), np.zeros_like(x)
    a = np.concatenate([np.stack([x, -y, one, zero], 1), np.stack([y, x, zero, one], 1)]) * np.tile(w, 2)[:, None]
    b = np.concatenate([q[:, 0], q[:, 1]]) * np.tile(w, 2)
    sa, sb, tx, ty = np.linalg.lstsq(a, b, rcond=None)[0]
    return np.array([[sa, -sb, tx], [sb, sa, ty], [0.0, 0.0, 1.0]])
