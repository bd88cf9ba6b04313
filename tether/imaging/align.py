"""Alignment: an affine transform from the reference frame to every frame, and colour gains.

Two estimates run side by side on reduced luminance images (long side <= 512 px: see
:meth:`ChainAligner.for_frames`; the thresholds below are in pixels of a reduction to <= 1024 px).
The *coarse* chain registers each frame to a keyframe: phase correlation (Kuglin &
Hines 1975) of a grid of patches gives local shifts, and a robust least-squares fit
turns them into scale, rotation and shift (a similarity). Phase correlation ignores the
magnitude spectrum, so a blur difference barely moves it, and it finds motions of many
pixels; but a patch locates its shift only to about a tenth of a reduced pixel, and the
keyframe is replaced only when an estimate visibly improves the match (see
:class:`ChainAligner`), so what it reports can be a pixel or two off.
The *fine* chain refines that to a few hundredths of a pixel: ECC (Evangelidis & Psarakis
2008, ``cv2.findTransformECC``, affine) of each frame against its predecessor, started from
the coarse chain's step. Neighbours differ little in focus, so the blur change barely
pulls the estimate; but a focus change does fake a small motion (defocused edges spread
over what they occlude), a few hundredths to a fifth of a reduced pixel a frame, always the
same way, and a hundred of them would add up to pixels. A step is therefore taken only when
it moves a corner by more than :attr:`ChainAligner.min_step` reduced pixels -- real motion between neighbours (a lens's
breathing, a whole-pixel jump) is larger; what focus fakes is not. A stack that did not move
thus keeps the identity and is not resampled at all. The price: a motion that creeps on by
less than that between every two frames is not followed (the coarse chain sees it, but its
own error is as large, and on a still stack it would put a drift there instead).
A step that is taken carries the same fake as its neighbours: the steps not taken just before
it (only the focus moved there) measure it, and their mean is taken out of the step. Once all
frames are in, :meth:`ChainAligner.settle` measures each jump again on the frames on both sides
of it (:func:`jump_between`), and takes the mean of both measures, so that no one frame's error
is passed on whole to the rest of the sweep.
Affine, not a similarity: breathing is a scale, but a camera that crops whole pixels
(the simulator does) scales width and height by different amounts. A tripod step that is taken is
then kept to what a breathing lens can do, a scale per axis and a shift (:func:`as_breathing`):
the rotation and shear an affine fitted to it adds are the frames' own error. A step whose first guess
moves a corner by more than :attr:`ChainAligner.handheld_step` reduced pixels was made by a
camera held in the hand, which also tilts: that step is refined as a full homography. A
tripod's steps stay affine: the two parameters more would only pick up what focus fakes
(measured on a breathing sweep: 0.8 px at the corners instead of 0.5). A handheld step is then refined
again on the pair made alike in blur (:func:`~tether.imaging.handheld.equalise_blur`): every
handheld step is taken, and what a focus step fakes would add up along the chain.
Brightness and colour are matched by per-channel gains measured on the reduced,
aligned images (the mean of a region is unchanged by defocus blur).

Transforms are 3x3 float64 homographies in full-resolution (x, y) = (col, row) pixel
coordinates that map a reference pixel to the frame's pixel, ready for
``cv2.warpPerspective(frame, M, size, flags=WARP_INVERSE_MAP)``. The functions here also take
the 2x3 affine matrices that focus indexes stored before homographies were used.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from tether.imaging.handheld import equalise_blur
from tether.imaging.phase_correlation import KeyframeSpectra, estimate_motion
from tether.imaging.transforms import (
    IDENTITY,
    compose,
    corner_points,
    corner_shift,
    footprint_box,
    homogeneous,
    invert,
    is_affine,
    project,
    scale_transform,
    warp_to_reference,
)


def reduction_factor(shape: tuple[int, int], *, max_side: int = 1024) -> int:
    """The power-of-two factor that brings the long side of (H, W) to at most ``max_side``."""
    factor = 1
    while max(shape) / factor > max_side:
        factor *= 2
    return factor


def as_float(image: np.ndarray) -> np.ndarray:
    """(H, W[, C]) uint8/uint16 image as float32 on a 0..255 scale (float32 input is returned as it is)."""
    if image.dtype == np.float32:
        return image
    out = image.astype(np.float32)
    if image.dtype == np.uint16:
        out *= 1.0 / 257.0
    return out


def grey_float(image: np.ndarray, *, band: int = 64) -> np.ndarray:
    """(H, W[, 3]) BGR image as (H, W) float32 grey on a 0..255 scale, like cvtColor of :func:`as_float`.

    A colour image is converted a band of rows at a time: its whole float copy would be 12
    bytes a pixel, the largest thing pass 1 makes.
    """
    if image.ndim == 2:
        return as_float(image)
    out = np.empty(image.shape[:2], np.float32)
    for r0 in range(0, image.shape[0], band):
        cv2.cvtColor(as_float(image[r0:r0 + band]), cv2.COLOR_BGR2GRAY, dst=out[r0:r0 + band])
    return out



#: At most this many ECC iterations a refinement. From a guess within a pixel ECC converges in 3 to 9;
#: some pairs circle within a hundredth of a reduced pixel for long before they meet its end test (the
#: correlation changing by less than 1e-5): with a cap of 50, 3 of the 21 steps of a 3 MP sweep that
#: breathes at every step took 24 to 50 iterations, a third of pass 1's time.
ECC_ITERATIONS = 10
#: Reduced images of more pixels than this are registered at half size first (see :func:`refine_motion`).
ECC_TWO_LEVELS = 100_000
#: ECC iterations at the given size once the half size has converged.
ECC_FINE_ITERATIONS = 2


def _halves(template: np.ndarray, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    h, w = template.shape
    a, b = (cv2.resize(im, (w // 2, h // 2), interpolation=cv2.INTER_AREA) for im in (template, image))
    return a, b


def _ecc(template: np.ndarray, image: np.ndarray, guess: np.ndarray, *, homography: bool,
         iterations: int) -> np.ndarray | None:
    """One ``cv2.findTransformECC`` from ``guess`` (3x3); None when it does not converge."""
    criteria = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, iterations, 1e-5)
    start = homogeneous(guess) if homography else homogeneous(guess)[:2]
    model = cv2.MOTION_HOMOGRAPHY if homography else cv2.MOTION_AFFINE
    try:
        _, warp = cv2.findTransformECC(template, image, start.astype(np.float32), model, criteria, None)
    except cv2.error:  # "the algorithm stopped before its convergence"
        return None
    return homogeneous(np.asarray(warp, np.float64))


def refine_motion(template: np.ndarray, image: np.ndarray, guess: np.ndarray, *,
                  max_pixels: int = 300_000, homography: bool = False) -> np.ndarray:
    """Affine transform (3x3) taking (x, y) of ``template`` to ``image`` ((h, w) float32 grey), refined from ``guess``.

    ``homography``: refine a full homography instead (8 parameters: a tilted camera).

    ECC maximises the correlation of the whole images, so it locates a motion to a few
    hundredths of a pixel where patches give a tenth; it only converges from a guess within
    a pixel or so. When it does not converge (featureless or unrelated frames) the guess is
    returned. ECC keeps some 16 float planes of its images (gradients, their warps, the
    Jacobian), and its time grows with them: images of more than ``max_pixels`` are halved
    first (measured on 100-frame breathing sweeps, ECC on 480 x 270 instead of 960 x 540 moves the
    corners by less than 0.01 px RMS, and takes 8 ms instead of 28). :meth:`ChainAligner.for_frames`
    hands it images of at most 512 px a side, which are below that already.
    Images of more than :data:`ECC_TWO_LEVELS` pixels (the 512-px reductions of frames from 800 x 600 up)
    are registered at half size first, where an iteration costs a quarter to a sixth as much, and
    then given :data:`ECC_FINE_ITERATIONS` at their own size: on the tests' 100-frame breathing sweeps
    the corners' RMS and max error move by 0.001 px at most against ECC run on the given size alone, and
    a 3 MP sweep's ECC takes a third of the CPU time (docs/stacking.md, "Alignment").
    """
    if template.size > max_pixels:
        a, b = _halves(template, image)
        return scale_transform(refine_motion(a, b, scale_transform(guess, 0.5), max_pixels=max_pixels,
                                             homography=homography), 2.0)
    start, iterations = guess, ECC_ITERATIONS
    if template.size > ECC_TWO_LEVELS:
        half = _ecc(*_halves(template, image), scale_transform(guess, 0.5), homography=homography,
                    iterations=ECC_ITERATIONS)
        if half is None:
            return homogeneous(guess)
        start, iterations = scale_transform(half, 2.0), ECC_FINE_ITERATIONS
    refined = _ecc(template, image, start, homography=homography, iterations=iterations)
    return homogeneous(guess) if refined is None else refined


def match(template: np.ndarray, image: np.ndarray, m: np.ndarray) -> float:
    """Correlation of ``template`` and ``image`` warped onto it by ``m``, inside a 10 % margin (0 for a flat image)."""
    warped = warp_to_reference(image, m, interpolation=cv2.INTER_LINEAR)
    h, w = template.shape
    dy, dx = h // 10, w // 10
    a, b = template[dy:h - dy, dx:w - dx], warped[dy:h - dy, dx:w - dx]
    a, b = a - a.mean(), b - b.mean()
    den = float(np.sqrt(np.sum(a * a) * np.sum(b * b)))
    return float(np.sum(a * b)) / den if den > 0 else 0.0


def residual(template: np.ndarray, image: np.ndarray, m: np.ndarray) -> float:
    """Mean squared difference of ``template`` and ``image`` warped onto it by ``m``, inside a 10 % margin."""
    warped = warp_to_reference(image, m, interpolation=cv2.INTER_LINEAR)
    h, w = template.shape
    dy, dx = h // 10, w // 10
    diff = template[dy:h - dy, dx:w - dx] - warped[dy:h - dy, dx:w - dx]
    return float(np.mean(diff * diff))


def jump_between(steps: list[np.ndarray], at: int, jumps: list[int], shape: tuple[int, int], *,
                 window: int, degree: int) -> np.ndarray | None:
    """The jump ``steps[at]`` (from frame ``at`` to ``at + 1``) measured on the frames around it, or None.

    ``steps[q]`` (3x3, reduced (h, w) = ``shape`` coordinates) takes frame q to q + 1; ``jumps``
    lists the steps that are real motion. The frames from ``at - window + 1`` to ``at + window``
    are placed relative to frame ``at`` by chaining the steps, and the positions of their corners
    are fitted by least squares as a polynomial of ``degree`` in frame number (what the focus
    fakes grows smoothly with the focus) plus one constant offset per jump: the offset of
    ``at`` is the jump. Each frame's own error then counts once for a window, not once for the
    jump. None when the window holds fewer than ``window`` frames beyond the fit's unknowns (a
    run of jumps: a handheld sweep, or breathing that moves the frame at every step).
    """
    lo, hi = max(0, at - window + 1), min(len(steps), at + window)
    chain = {at: IDENTITY}
    for u in range(at, hi):
        chain[u + 1] = compose(steps[u], chain[u])
    for u in range(at, lo, -1):
        chain[u - 1] = compose(invert(steps[u - 1]), chain[u])
    frames = np.arange(lo, hi + 1)
    inside = [q for q in jumps if lo <= q < hi]
    x = (frames - at - 0.5) / window
    design = np.concatenate([np.vander(x, degree + 1), (frames[:, None] > np.array(inside)[None, :])], axis=1)
    if len(frames) - design.shape[1] < window:
        return None
    corners = corner_points(shape)
    moved = np.array([(project(chain[u], corners) - corners).ravel() for u in frames.tolist()])
    offset = np.linalg.lstsq(design, moved, rcond=None)[0][degree + 1 + inside.index(at)].reshape(4, 2)
    if is_affine(steps[at]):
        # The affine transform closest to the corners' offsets (4 points, 3 unknowns per axis).
        xy1 = np.concatenate([corners, np.ones((4, 1))], axis=1)
        rows = np.linalg.lstsq(xy1, corners + offset, rcond=None)[0].T
        return homogeneous(rows)
    return homogeneous(cv2.getPerspectiveTransform(corners.astype(np.float32), (corners + offset).astype(np.float32)))


def as_breathing(step: np.ndarray, shape: tuple[int, int], *, tolerance: float) -> np.ndarray:
    """The affine ``step`` (3x3) as a lens's breathing, unless that moves a corner of an (h, w) frame too far.

    A lens that breathes magnifies the frame about its axis: a scale per axis and a shift
    (x' = a x + c, y' = b y + e; per axis, because a camera that crops whole pixels scales
    width and height by different amounts), never a rotation or a shear. What an affine step
    adds to that is the frames' own error (at 12 MP a tenth of a pixel at the corners), so it
    is left out: the transform of that form closest to the step at the corners is returned.
    A step whose rotation or shear moves a corner by more than ``tolerance`` (px) is the camera
    turning, and is returned as it is; so is a homography (a camera held in the hand).
    """
    if not is_affine(step):
        return step
    corners = corner_points(shape)
    moved = project(step, corners)
    ones = np.ones(len(corners))
    x = np.linalg.lstsq(np.stack([corners[:, 0], ones], axis=1), moved[:, 0], rcond=None)[0]
    y = np.linalg.lstsq(np.stack([corners[:, 1], ones], axis=1), moved[:, 1], rcond=None)[0]
    lens = np.array([[x[0], 0.0, x[1]], [0.0, y[0], y[1]], [0.0, 0.0, 1.0]])
    return lens if np.hypot(*(project(lens, corners) - moved).T).max() <= tolerance else step


@dataclass
class ChainAligner:
    """Registers reduced frames one at a time, in order, to the first.

    Coarse chain: each frame is registered to the last *keyframe*; the estimate is accepted
    (and the frame becomes the new keyframe) only if it matches the keyframe clearly better
    than the keyframe's own transform does. A focus change alone can fake a small scale
    change (blur grows unevenly at occluding edges), and accepting such estimates frame
    after frame would add them up to pixels; motion below what the images can show
    is thus held back until it has grown large enough to be measured.
    Fine chain: the step from the previous frame, refined by :func:`refine_motion` and taken
    only when it is larger than a focus change can fake (see the module's notes).
    ``factor`` is the full-resolution size divided by the size of the images given to :meth:`add`.
    """

    factor: float = 1.0
    match_colour: bool = True
    #: A new coarse estimate must lower the squared difference by this fraction to be accepted.
    min_gain: float = 0.02
    #: Reduced pixels a refined step must move a corner by to be taken. A focus change between
    #: neighbours fakes up to 0.19 of them on the simulator (more where the blur grows faster,
    #: which is where the frames are larger); a whole-pixel crop of a 12 MP frame moves it by 0.27.
    min_step: float = 0.22
    #: ... and never more than this many full-resolution pixels: :attr:`min_step` is set in reduced pixels,
    #: which grow with the frame, and at 24 MP it would pass over a breathing of a pixel or more a step,
    #: then take those steps for what a focus step fakes and take them out of the next ones too. Measured
    #: at 24 MP, corners RMS / max: a 100-frame breathing sweep 6.0 / 10.3 px -> 0.43 / 0.70, 10 frames
    #: 4.9 / 9.0 -> 1.9 / 3.9; a still 100-frame sweep stays the identity. At 12 MP and below it is above
    #: :attr:`min_step` and changes nothing.
    min_step_full: float = 0.9
    #: Reduced pixels the first guess of a step must move a corner by for it to be refined as a
    #: homography: a lens's breathing moves the corners of a 1000-pixel frame by a pixel or two
    #: over a whole sweep; a hand moves them by more than that from one frame to the next.
    handheld_step: float = 3.0
    #: Tiles (pixels of the images given) in which a handheld pair's blur is equalised before its step
    #: is refined again (:func:`~tether.imaging.handheld.equalise_blur`). On the 320 x 240 reduction of
    #: the simulator's handheld sweep (three draws of the shake), the stack against the tripod stack:
    #: 8 px -0.34 to +0.26 dB, 16 px -0.08 to +0.72, 32 px +0.03 to +0.26.
    equalise_tile: int = 16
    #: Sigma (reduced pixels) of the blur the frames get before they are compared.
    blur: float = 1.0
    #: How many of the latest steps not taken make the estimate of what a focus step fakes.
    fake_memory: int = 8
    #: Frames on each side of a jump that :meth:`settle` measures it on, and the degree of the
    #: polynomial in frame number that stands for what the focus fakes across them.
    jump_window: int = 8
    jump_degree: int = 1
    #: Colour gains closer to 1 than this are taken as 1: a focus change alone moves a region's mean
    #: by up to 1 % (light spills across its edges, a blurred foreground covers more of what is behind
    #: it), and scaling every frame by that costs a still stack 0.15 dB; a flicker that small does not show.
    min_gain_change: float = 0.015
    #: The correlation a frame must reach with its predecessor, registered, to be used. Neighbours
    #: in a sweep reach 0.99 (blur changes little from one to the next, even with a hand's
    #: shake); a frame of another scene reaches 0.2, one with no texture 0.02.
    min_match: float = 0.5
    transforms: list[np.ndarray] = field(default_factory=list)
    gains: list[np.ndarray] = field(default_factory=list)
    #: Numbers (0-based, in the order added) of the frames that could not be registered.
    rejected: list[int] = field(default_factory=list)
    _key_grey: np.ndarray | None = None
    _key_chain: np.ndarray = field(default_factory=lambda: IDENTITY.copy())
    _prev_grey: np.ndarray | None = None
    _prev_coarse: np.ndarray = field(default_factory=lambda: IDENTITY.copy())
    _fine: np.ndarray = field(default_factory=lambda: IDENTITY.copy())
    _fakes: list[np.ndarray] = field(default_factory=list)
    #: (frame number, refined step from the last frame used) of every registered frame after the first.
    _steps: list[tuple[int, np.ndarray]] = field(default_factory=list)
    _shape: tuple[int, int] = (0, 0)
    _ref_small: np.ndarray | None = None
    _key_spectra: KeyframeSpectra = field(default_factory=KeyframeSpectra, repr=False, compare=False)

    @classmethod
    def for_frames(cls, shape: tuple[int, int], *, match_colour: bool = True) -> ChainAligner:
        """An aligner for frames of full size ``shape`` (H, W), working on their reduction to a long side of at
        most 512 px, with its thresholds (set in pixels of the reduction to at most 1024 px) converted to those.

        Measured on 100-frame breathing sweeps, working at 512 instead of 1024 moves the corners by less than
        0.015 px (RMS 0.013 px at 1080p either way) and halves pass 1's time (30 -> 17 ms a 1080p frame): ECC
        already ran at that size (:func:`refine_motion`), and phase correlation gives only its first guess.
        """
        factor = reduction_factor(shape, max_side=512)
        ratio = factor / reduction_factor(shape)
        # Never above what a corner moving by :attr:`min_step_full` full-resolution pixels moves it (see there).
        min_step = min(cls.min_step / ratio, cls.min_step_full / factor)
        return cls(factor=factor, match_colour=match_colour, min_step=min_step,
                   handheld_step=cls.handheld_step / ratio, blur=cls.blur / ratio)

    def add(self, small: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Register the next reduced (h, w[, C]) frame; returns (full-res 3x3 transform, gains (C,)).

        ``small`` is float32 on a 0..255 scale, or uint8/uint16, which is cheaper: it is
        converted (:func:`as_float`) a piece at a time, and kept as it is for the colour reference.
        A frame that does not match its predecessor once registered (:attr:`min_match`) is not
        used: its number goes to :attr:`rejected`, it gets the chain's transform as it stands and
        no gains, and the next frame is registered to the last frame that was used.
        """
        grey = grey_float(small)
        grey = cv2.GaussianBlur(grey, (0, 0), self.blur)  # noise would otherwise dominate the residuals
        if self._prev_grey is None or self._key_grey is None:  # the first frame
            self._key_grey = self._prev_grey = grey
        else:
            key_chain = self._key_chain
            local = estimate_motion(self._key_grey, grey, spectra=self._key_spectra)
            still = residual(self._key_grey, grey, IDENTITY)
            new_key = residual(self._key_grey, grey, local) < (1 - self.min_gain) * still
            if new_key:
                key_chain = compose(local, self._key_chain)
            coarse_step = compose(key_chain, invert(self._prev_coarse))
            if self._steps and residual(self._prev_grey, grey, self._steps[-1][1]) < residual(
                    self._prev_grey, grey, coarse_step):
                # The last step predicts this one better. The coarse chain moves only when the keyframe is
                # replaced, then by every step since the last one: on a sweep that breathes at every step
                # its guess lags by up to 2 reduced pixels, which would pass for a hand's shake.
                coarse_step = self._steps[-1][1]
            homography = corner_shift(coarse_step, grey.shape) > self.handheld_step
            step = refine_motion(self._prev_grey, grey, coarse_step, homography=homography)
            if match(self._prev_grey, grey, step) < self.min_match:
                self.rejected.append(len(self.transforms))
                self.transforms.append(scale_transform(self._fine, self.factor))
                self.gains.append(np.ones(1 if small.ndim == 2 else small.shape[2], np.float32))
                return self.transforms[-1], self.gains[-1]
            if homography:  # every handheld step is taken: it is refined without what the focus change fakes
                step = refine_motion(*equalise_blur(self._prev_grey, grey, step, tile=self.equalise_tile), step,
                                     homography=True)
            if new_key:
                self._key_grey, self._key_chain = grey, key_chain
            self._steps.append((len(self.transforms), step))
            self._shape = grey.shape
            self._fine = self._taken(step, grey.shape)
            self._prev_grey, self._prev_coarse = grey, self._key_chain
        gains = self._gains(small, self._fine)
        self.transforms.append(scale_transform(self._fine, self.factor))
        self.gains.append(gains)
        return self.transforms[-1], gains

    def settle(self) -> list[np.ndarray]:
        """The full-res transforms of all frames added, each jump measured again on the frames around it.

        :meth:`add` has to answer before the frames after a jump are seen, so it measures the
        jump on the two frames beside it, and each frame's apparent position carries an error of
        its own (a tenth to a third of a pixel on a blurred 12 MP frame), which every jump then
        passes on to the rest of the sweep. Here a jump with enough steps not taken around it is
        measured on up to :attr:`jump_window` frames on each side (:func:`jump_between`), and the
        mean of that and the first measure is taken (see :meth:`_taken`); steps in a run of jumps
        (a handheld sweep, a breathing that never stops) are kept as they were.
        """
        if not self._steps:
            return list(self.transforms)
        steps = [step for _, step in self._steps]
        jumps = [q for q, step in enumerate(steps) if corner_shift(step, self._shape) > self.min_step]
        self._fine, self._fakes = IDENTITY.copy(), []
        settled = [self.transforms[0]]
        for q, (number, step) in enumerate(self._steps):
            jump = (jump_between(steps, q, jumps, self._shape, window=self.jump_window, degree=self.jump_degree)
                    if q in jumps else None)
            self._fine = self._taken(step, self._shape, jump=jump)
            # A frame left out (between the last one used and this one) keeps the chain as it stood.
            settled += [settled[-1]] * (number - len(settled)) + [scale_transform(self._fine, self.factor)]
        self.transforms = settled + [settled[-1]] * (len(self.transforms) - len(settled))
        return self.transforms

    def _taken(self, step: np.ndarray, shape: tuple[int, int], *, jump: np.ndarray | None = None) -> np.ndarray:
        """The fine chain after the refined ``step`` from the previous frame (reduced coordinates).

        ``jump``: the step measured across more frames (:meth:`settle`).
        """
        if corner_shift(step, shape) <= self.min_step:
            # Nothing moved but the focus: this step is what a focus step fakes.
            self._fakes = [*self._fakes, step][-self.fake_memory:]
            return self._fine
        if self._fakes:
            # A real jump measured across a focus step carries that step's fake too; the steps
            # just before, where only the focus moved, tell how much (the fake changes slowly).
            step = compose(step, invert(np.mean(self._fakes, axis=0)))
        if jump is not None and is_affine(jump) and is_affine(step):
            # Two measures of one jump whose errors are only partly the same: this one carries its
            # two frames' own errors, the window's fit those of a line that follows the fake only
            # roughly. Their mean is better than either (at 12 MP 0.11 px RMS, against 0.15-0.16).
            step = (step + jump) / 2
        elif jump is not None:
            step = jump
        return compose(as_breathing(step, shape, tolerance=self.min_step), self._fine)

    def _gains(self, small: np.ndarray, m_small: np.ndarray) -> np.ndarray:
        channels = 1 if small.ndim == 2 else small.shape[2]
        if not self.match_colour:
            return np.ones(channels, np.float32)
        if self._ref_small is None:
            self._ref_small = small
            return np.ones(channels, np.float32)
        r0, r1, c0, c1 = footprint_box(m_small, small.shape[:2])
        # Compare the same region of both, with a margin: replicated borders would bias the means.
        dr, dc = (r1 - r0) // 10, (c1 - c0) // 10
        rows, cols = (r0 + dr, max(r0 + dr + 1, r1 - dr)), slice(c0 + dc, max(c0 + dc + 1, c1 - dc))
        # All channels in one warp of the compared rows, as stored (bilinear: a mean needs no finer detail).
        warped = warp_to_reference(small, m_small, rows=rows, interpolation=cv2.INTER_LINEAR)
        ref = np.array(cv2.mean(self._ref_small[rows[0]:rows[1], cols])[:channels])
        cur = np.array(cv2.mean(warped[:, cols])[:channels])
        gains = (ref + 1e-3) / (cur + 1e-3)
        if np.abs(gains - 1.0).max() <= self.min_gain_change:
            return np.ones(channels, np.float32)  # what a focus change alone does to a mean: leave it
        return gains.astype(np.float32)
