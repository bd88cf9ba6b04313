"""tether: a tethered-camera control server with Post Focus, refocus and focus stacking."""


def __getattr__(name: str) -> str:
    """``tether.__version__``, looked up on first use.

    importlib.metadata costs ~4 MB that image commands need not pay.
    """
    if name != "__version__":
        raise AttributeError(f"module 'tether' has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version

    try:
        value = version("tether")
    except PackageNotFoundError:  # running from a source tree that was never installed
        value = "0.0.0+source"
    globals()["__version__"] = value
    return value
