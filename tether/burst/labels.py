"""A burst's title and notes, given in the panel, kept inside the burst file as the derived item ``labels.json``
(so that they travel with it; its id and file name stay)."""
from __future__ import annotations

import json

from tether.burst.reader import BurstReader

LABELS_NAME = "labels.json"


def burst_labels(reader: BurstReader) -> dict[str, str]:
    """The open burst's title and notes ("" when it has none)."""
    labels = {"title": "", "notes": ""}
    if LABELS_NAME in reader.derived_names():
        stored = json.loads(reader.derived(LABELS_NAME))
        labels.update({k: str(stored[k]) for k in labels if k in stored})
    return labels
