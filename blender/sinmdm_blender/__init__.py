"""sinmdm for Blender: learn from an armature's action and get new actions on the same
armature, from a "sinmdm" tab in the 3D viewport's sidebar. The models run in the
``sinmdm`` command line, in a separate process; the add-on needs nothing beyond what
Blender ships. Pipeline scripts call :mod:`sinmdm_blender.api` directly."""

bl_info = {
    "name": "sinmdm",
    "author": "sinmdm",
    "version": (0, 1, 0),
    "blender": (3, 4, 0),
    "location": "3D Viewport > Sidebar > sinmdm",
    "description": "Learn the motifs of one action and synthesise new actions on the same armature",
    "category": "Animation",
}


def register() -> None:
    from . import compat, ui

    compat.register()
    ui.register()


def unregister() -> None:
    from . import compat, ui

    ui.unregister()
    compat.unregister()
