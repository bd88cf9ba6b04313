"""Running tether on a studio machine: udev rules for cameras and `tether doctor` checks."""
