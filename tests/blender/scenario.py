"""Run inside Blender by tests/blender/test_blender.py:

    blender -b --factory-startup --python tests/blender/scenario.py -- CONFIG.json

Enables the add-on from the checkout, then for an armature imported from a BVH (through
Blender's importer, which needs the add-on's fix on Python 3.11) and one built here with
bones rolled and a rest pose of its own: Learn with a tiny budget, Generate 2, Crowd 3,
and a Learn that fails. It writes what it saw (bone heads of every new action at every
keyed frame, in armature space) to the result file the config names; the test compares
them with sinmdm's own forward kinematics of the BVH files."""

import json
import math
import sys
from pathlib import Path

import bpy
from mathutils import Euler, Vector

config = json.loads(Path(sys.argv[sys.argv.index("--") + 1]).read_text())
sys.path.insert(0, config["addon_path"])
import sinmdm_blender  # noqa: E402
from sinmdm_blender import api  # noqa: E402
from sinmdm_blender.runner import SinmdmFailed  # noqa: E402

sinmdm_blender.register()
scene = bpy.context.scene
scene.render.fps = 30


def heads(obj, action) -> dict:
    """Bone heads and pose rotations (armature space) at every keyed frame of ``action``
    on ``obj``, and the bones' rest rotations."""
    obj.animation_data.action = action
    start, end = (int(round(f)) for f in action.frame_range)
    frames, turns = {}, {}
    for frame in range(start, end + 1):
        scene.frame_set(frame)
        frames[frame] = {b.name: list(b.head) for b in obj.pose.bones}
        turns[frame] = {b.name: [list(r) for r in b.matrix.to_3x3()] for b in obj.pose.bones}
    return {"name": action.name, "source": action.get("sinmdm_source"), "frames": frames, "rotations": turns,
            "rest": {b.name: [list(r) for r in b.matrix_local.to_3x3()] for b in obj.data.bones},
            "range": [start, end], "fake_user": action.use_fake_user}


def built_armature() -> bpy.types.Object:
    """Bones with rolls, a rest pose unlike any BVH's joint frames, mixed rotation modes,
    and a 90-frame action of smooth motion travelling along the ground."""
    arm = bpy.data.armatures.new("Built")
    obj = bpy.data.objects.new("Built", arm)
    scene.collection.objects.link(obj)
    bpy.context.view_layer.objects.active = obj
    bpy.ops.object.mode_set(mode="EDIT")
    spec = [("Hips", None, (0, 0, 1), (0, 0.1, 1.2), 0.3, False), ("Spine", "Hips", (0, 0.1, 1.2), (0, 0, 1.6), 1.0, True),
            ("Head", "Spine", (0, 0, 1.6), (0.1, 0, 1.9), -0.7, True), ("LegL", "Hips", (0.2, 0, 1), (0.25, 0.1, 0.5), 2.0, False),
            ("FootL", "LegL", (0.25, 0.1, 0.5), (0.3, -0.2, 0.0), 0.4, True), ("LegR", "Hips", (-0.2, 0, 1), (-0.2, 0, 0.5), -1.2, False),
            ("FootR", "LegR", (-0.2, 0, 0.5), (-0.2, -0.25, 0.0), 0.9, True)]
    for name, parent, head, tail, roll, connect in spec:
        bone = arm.edit_bones.new(name)
        bone.head, bone.tail, bone.roll = head, tail, roll
        if parent:
            bone.parent, bone.use_connect = arm.edit_bones[parent], connect
    bpy.ops.object.mode_set(mode="OBJECT")
    modes = {"Hips": "QUATERNION", "Spine": "XYZ", "Head": "ZXY", "LegL": "QUATERNION", "FootL": "YZX", "LegR": "XZY", "FootR": "XYZ"}
    action = bpy.data.actions.new("Stroll")
    obj.animation_data_create().action = action
    for k, pb in enumerate(obj.pose.bones):
        pb.rotation_mode = modes[pb.name]
        for frame in range(1, 91):
            phase = 2 * math.pi * frame / 30 + k
            euler = Euler((0.4 * math.sin(phase), 0.2 * math.cos(1.3 * phase), 0.3 * math.sin(0.7 * phase)))
            if pb.rotation_mode == "QUATERNION":
                pb.rotation_quaternion = euler.to_quaternion()
                pb.keyframe_insert("rotation_quaternion", frame=frame)
            else:
                pb.rotation_euler = euler
                pb.keyframe_insert("rotation_euler", frame=frame)
            if pb.name == "Hips":
                pb.location = Vector((0.02 * frame, 0.05 * math.sin(phase), 0.0))
                pb.keyframe_insert("location", frame=frame)
    return obj


def imported_armature() -> bpy.types.Object:
    bpy.ops.import_anim.bvh(filepath=config["clip"])
    return bpy.context.object


result = {"cases": {}}
for case, make in (("imported", imported_armature), ("built", built_armature)):
    obj = make()
    bpy.context.view_layer.objects.active = obj
    run = api.learn(obj, steps=config["steps"])
    made = api.generate(obj, count=2, length=config["length"], seed=0)
    result["cases"][case] = {
        "armature": obj.name, "run": run, "stored_run": obj.get(api.RUN),
        "body_size": max((b.head_local - obj.data.bones[0].head_local).length for b in obj.data.bones),
        "actions": [heads(obj, a) for a in made],
    }

# The editing commands on the built armature, from its learned action (90 frames).
obj = bpy.data.objects["Built"]
obj.animation_data.action = bpy.data.actions["Stroll"]
edits = {"expand": api.expand(obj, count=1, length=120), "inbetween": api.inbetween(obj, 31, 61, count=1),
         "compose": api.compose(obj, keep="LegL,FootL", count=1)}
result["edits"] = {}
for name, made in edits.items():
    obj.animation_data.action = bpy.data.actions["Stroll"]
    result["edits"][name] = heads(obj, made[0])
result["edits"]["body_size"] = result["cases"]["built"]["body_size"]

# Crowd 3 on the built armature: linked duplicates, each placed by its own action.
obj.animation_data.action = bpy.data.actions["Stroll"]
copies = api.crowd(obj, count=3, layout="grid", seed=1)
result["crowd"] = [{"name": c.name, "shares_data": c.data == obj.data, "action": c.animation_data.action.name,
                    "record": json.loads(c["sinmdm_crowd"]),
                    "root": heads(c, c.animation_data.action)["frames"]} for c in copies]
result["crowd_json"] = str(Path(copies[0].animation_data.action["sinmdm_source"]).parent / "crowd.json")

# A failing command leaves the scene as it was and says why in one line.
short = bpy.data.actions.new("Short")
obj.animation_data.action = short
obj.pose.bones["Hips"].keyframe_insert("location", frame=1)
obj.pose.bones["Hips"].keyframe_insert("location", frame=2)
before = (len(bpy.data.actions), len(bpy.data.objects))
try:
    api.learn(obj, steps=config["steps"])
    result["failure"] = None
except SinmdmFailed as exc:
    result["failure"] = str(exc)
result["unchanged"] = before == (len(bpy.data.actions), len(bpy.data.objects))
# The panel's button on an armature that has learned nothing: cancelled, one line.
bare = bpy.data.objects.new("Bare", bpy.data.armatures.new("Bare"))
scene.collection.objects.link(bare)
bpy.context.view_layer.objects.active = bare
try:  # an operator that reports an error raises it when a script calls it (the UI shows the report)
    outcome, raised = sorted(bpy.ops.sinmdm.generate()), ""
except RuntimeError as exc:
    outcome, raised = ["CANCELLED"], str(exc)
result["operator"] = {"outcome": outcome, "raised": raised, "message": bpy.context.window_manager.sinmdm_status.message}
Path(config["result"]).write_text(json.dumps(result))
