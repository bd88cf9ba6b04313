"""The simulated camera: a scene of textured objects at known distances seen through a thin lens.

Public API:

- ``SimCamera(camera_id, settings)``: a :class:`tether.camera.base.Camera` (live view, stills, focus
  drive, movie); ``camera.ground_truth`` is a :class:`SceneTruth` bound to its motor.
- ``sim_camera_infos(settings)``: the listing for ``sim:macro``, ``sim:product``, ``sim:portrait``,
  ``sim:landscape`` (plain ``sim`` is ``sim:macro``); ``SCENES``: their scene names.
- ``render(scene, focus_position, size, *, f_number, breathing, seed)``: a noiseless frame of known
  truth without a camera or motor, for tests and benchmarks.
- Faults from the id's query: see :mod:`tether.camera.sim.faults`.
"""
from tether.camera.sim.camera import SimCamera, camera_info, sim_camera_infos
from tether.camera.sim.faults import FaultPlan
from tether.camera.sim.motor import STEP_UNITS, FocusMotor, MotorSpec
from tether.camera.sim.optics import INFINITY_POSITION, MOTOR_RANGE, Lens, lens_for, render
from tether.camera.sim.scene import SCENES, get_scene
from tether.camera.sim.truth import ObjectTruth, SceneTruth

__all__ = [
    "INFINITY_POSITION", "MOTOR_RANGE", "SCENES", "STEP_UNITS", "FaultPlan", "FocusMotor", "Lens", "MotorSpec",
    "ObjectTruth", "SceneTruth", "SimCamera", "camera_info", "get_scene", "lens_for", "render", "sim_camera_infos",
]
