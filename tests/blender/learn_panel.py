"""Run inside Blender with a window (xvfb) by tests/blender/test_blender.py:

    xvfb-run blender --factory-startup --python tests/blender/learn_panel.py -- CLIP RESULT.json

The panel's Learn button on an imported armature: it trains in the background while
the panel's status follows its steps; Cancel stops it with a checkpoint, which becomes
the armature's model; Learn with Continue resumes it to the end."""

import json
import sys
import time

import bpy

clip, out = sys.argv[sys.argv.index("--") + 1 :][:2]
sys.path.insert(0, json.loads(open(out + ".config").read())["addon_path"])
import sinmdm_blender  # noqa: E402
from sinmdm_blender import api  # noqa: E402

sinmdm_blender.register()
bpy.ops.import_anim.bvh(filepath=clip)
rig = bpy.context.object
settings = bpy.context.scene.sinmdm
settings.budget, settings.steps = "STEPS", 400
seen = {"phases": []}
phase = {"steps": []}
started = time.time()


def learn() -> None:
    window = bpy.context.window_manager.windows[0]
    with bpy.context.temp_override(window=window, area=window.screen.areas[0], active_object=rig, object=rig):
        phase["outcome"] = sorted(bpy.ops.sinmdm.learn())


def watch():  # noqa: ANN201 - a timer: seconds to the next call, or None
    global phase
    status = bpy.context.window_manager.sinmdm_status
    phase["steps"].append(status.step)
    first = not seen["phases"]
    if first and status.step >= 3 and not phase.get("cancelled"):
        phase["cancelled"], status.cancel = True, True
    if status.running and time.time() - started < 600:
        return 0.5
    phase.update(message=status.message, run=rig.get(api.RUN))
    seen["phases"].append(phase)
    if first:  # Continue: the stored run goes on to the full budget
        phase = {"steps": []}
        settings.resume, settings.steps = True, 12
        learn()
        return 1.0
    open(out, "w").write(json.dumps(seen))
    bpy.ops.wm.quit_blender()


bpy.app.timers.register(lambda: learn() and None, first_interval=1.0)
bpy.app.timers.register(watch, first_interval=3.0)
