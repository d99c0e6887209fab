"""Screenshot of the add-on's panel for the README (docs/blender_panel.png): a fresh
armature with an action, the sidebar on the sinmdm tab. Blender 3.4 cannot choose a
sidebar tab from Python, so the script clicks it with simulated events:

    xvfb-run -a -s "-screen 0 1600x1000x24" blender --factory-startup --enable-event-simulate \\
        --python docs/blender_panel.py -- docs/blender_panel.png

(the image is cropped to the sidebar)."""

import os
import sys

import bpy

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "blender"))
import sinmdm_blender  # noqa: E402

sinmdm_blender.register()
OUT = os.path.abspath(sys.argv[sys.argv.index("--") + 1])
bpy.ops.object.select_all(action="SELECT")
bpy.ops.object.delete()
bpy.ops.object.armature_add()
rig = bpy.context.object
rig.name = "Dragon"
action = bpy.data.actions.new("Fly")
rig.animation_data_create().action = action
for frame in (1, 120):
    rig.pose.bones[0].keyframe_insert("location", frame=frame)


def view3d(window):  # noqa: ANN001, ANN202
    area = next(a for a in window.screen.areas if a.type == "VIEW_3D")
    return area, next(r for r in area.regions if r.type == "UI")


def open_tab() -> None:
    window = bpy.context.window_manager.windows[0]
    area, _ = view3d(window)
    area.spaces.active.show_region_ui = True
    for kind in ("PRESS", "RELEASE"):  # the splash screen goes
        window.event_simulate(type="ESC", value=kind)
    x, y = area.x + area.width - 13, area.y + area.height - 225  # the fourth tab: Item, Tool, View, sinmdm
    window.event_simulate(type="MOUSEMOVE", value="NOTHING", x=x, y=y)
    for kind in ("PRESS", "RELEASE"):
        window.event_simulate(type="LEFTMOUSE", value=kind, x=x, y=y)


def shoot() -> None:
    window = bpy.context.window_manager.windows[0]
    area, region = view3d(window)
    full = OUT + ".full.png"
    with bpy.context.temp_override(window=window, area=area):
        bpy.ops.screen.screenshot_area(filepath=full)
    image = bpy.data.images.load(full)
    width, height = image.size
    left = region.x - area.x - 40
    pixels = list(image.pixels)
    crop = bpy.data.images.new("panel", width - left, height)
    rows = [pixels[(y * width + left) * 4 : (y * width + width) * 4] for y in range(height)]
    crop.pixels = [v for row in rows for v in row]
    crop.filepath_raw, crop.file_format = OUT, "PNG"
    crop.save()
    os.remove(full)
    bpy.ops.wm.quit_blender()


bpy.app.timers.register(open_tab, first_interval=2.0)
bpy.app.timers.register(shoot, first_interval=4.0)
