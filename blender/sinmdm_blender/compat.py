"""Debian's Blender 3.4 runs Python 3.11, whose ``open()`` no longer accepts the ``'rU'``
mode that Blender's bundled BVH importer passes, so File > Import > BVH fails there.
While the add-on is enabled, the importer's module sees an ``open`` that drops the
``U``; nothing else is touched."""

from __future__ import annotations

import builtins


def _open(file, mode="r", *args, **kwargs):  # noqa: ANN001, ANN202 - the signature of open
    return builtins.open(file, mode.replace("U", ""), *args, **kwargs)


def register() -> None:
    try:
        from io_anim_bvh import import_bvh
    except ImportError:  # the BVH add-on is not there: nothing to mend
        return
    import_bvh.open = _open


def unregister() -> None:
    try:
        from io_anim_bvh import import_bvh
    except ImportError:
        return
    if getattr(import_bvh, "open", None) is _open:
        del import_bvh.open
