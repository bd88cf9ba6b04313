"""The simulated focus motor: step classes, backlash, silent end stops, bounded step error."""
from __future__ import annotations

import pytest

from tether.camera.sim.motor import STEP_UNITS, FocusMotor, MotorSpec
from tether.camera.types import FocusDirection, StepClass

NEAR, FAR = FocusDirection.NEAR, FocusDirection.FAR


def exact(**spec) -> FocusMotor:
    """A motor without step error or latency, starting at 100 having last moved far."""
    return FocusMotor(MotorSpec(step_error=0.0, step_seconds=0.0, unit_seconds=0.0, **spec), start=100)


@pytest.mark.parametrize("step, units", [(StepClass.SMALL, 1), (StepClass.MEDIUM, 4), (StepClass.LARGE, 16)])
def test_step_classes_move_their_units(step, units):
    motor = exact()
    assert STEP_UNITS[step] == units
    assert motor.drive(FAR, step, 3) == 100 + 3 * units


def test_reversing_first_takes_up_the_backlash():
    motor = exact(backlash=3)
    motor.drive(FAR, StepClass.MEDIUM, 2)            # 108, slack taken up toward far
    assert motor.drive(NEAR, StepClass.SMALL, 3) == 108   # the play: the focus group does not move
    assert motor.drive(NEAR, StepClass.SMALL, 1) == 107
    assert motor.drive(NEAR, StepClass.SMALL, 4) == 103
    assert motor.drive(FAR, StepClass.SMALL, 3) == 103    # and again after reversing to far
    assert motor.drive(FAR, StepClass.SMALL, 2) == 105


def test_same_direction_has_no_backlash():
    motor = exact(backlash=5)
    positions = [motor.drive(FAR, StepClass.SMALL) for _ in range(5)]
    assert positions == [101, 102, 103, 104, 105]


def test_end_stops_clamp_silently_and_motion_resumes():
    motor = exact(range=240, backlash=3)
    assert motor.drive(NEAR, StepClass.LARGE, 50) == 0       # no error, just the stop
    assert motor.drive(NEAR, StepClass.SMALL, 1) == 0
    assert motor.drive(FAR, StepClass.SMALL, 3) == 0          # reversal at the stop: play first
    assert motor.drive(FAR, StepClass.SMALL, 2) == 2
    assert motor.drive(FAR, StepClass.LARGE, 100) == 240
    # Pressing on the far stop does not wind the motor up: the first reversal costs only the play.
    assert motor.drive(NEAR, StepClass.SMALL, 4) == 239


def test_step_error_is_bounded_seeded_and_present():
    spec = MotorSpec(step_error=0.3, step_seconds=0.0, unit_seconds=0.0, backlash=0, range=100000)
    runs = []
    for _ in range(2):
        motor = FocusMotor(spec, seed=7, start=0)
        moves = []
        for _ in range(400):
            before = motor.position
            moves.append(motor.drive(FAR, StepClass.MEDIUM) - before)
        runs.append(moves)
    assert runs[0] == runs[1]                                  # deterministic for a seed
    assert set(runs[0]) <= {3, 4, 5}                           # at most one unit off
    assert 0.2 < sum(m != 4 for m in runs[0]) / 400 < 0.4       # at about the configured rate
    other = FocusMotor(spec, seed=8, start=0)
    assert [other.drive(FAR, StepClass.MEDIUM) for _ in range(50)] != [sum(runs[0][:i + 1]) for i in range(50)]


def test_latency_per_step_is_spent():
    slept = []
    motor = FocusMotor(MotorSpec(step_error=0.0, step_seconds=0.01, unit_seconds=0.001), start=10, sleep=slept.append)
    motor.drive(FAR, StepClass.MEDIUM, 2)
    assert slept == pytest.approx([0.014, 0.014])


def test_history_gives_the_position_at_a_time():
    now = [100.0]
    motor = FocusMotor(MotorSpec(step_error=0.0, step_seconds=0.0, unit_seconds=0.0, backlash=0), start=50,
                       clock=lambda: now[0], sleep=lambda s: None)
    now[0] = 101.0
    motor.drive(FAR, StepClass.SMALL)
    now[0] = 102.0
    motor.drive(FAR, StepClass.SMALL)
    assert [motor.position_at(t) for t in (100.5, 101.0, 101.5, 102.5)] == [50, 51, 51, 52]


def test_a_starved_thread_does_not_delay_the_lens_while_recording():
    # A loaded machine wakes the simulator's thread tens of ms after its 2 ms step time; the movie's lens
    # acts on the camera's own timing (the steps 2 ms apart, the latency after the call), not on our host's.
    now = [100.0]

    def oversleep(seconds: float) -> None:
        now[0] += seconds + 0.05

    motor = FocusMotor(MotorSpec(step_error=0.0, step_seconds=0.002, backlash=0, latency=0.1, speed=1e6), start=50,
                       clock=lambda: now[0], sleep=oversleep)
    motor.smooth = True
    motor.drive(FAR, StepClass.SMALL, 2)
    assert [motor.position_at(100.0 + t) for t in (0.101, 0.103, 0.105)] == [50, 51, 52]
