"""Run inside Blender by tests/test_gltf_real.py:

    blender -b --factory-startup --python tests/gltf/blender_import.py -- RESULT.json FILE.glb FRAMES FRAME_TIME ...

Imports each glTF file with Blender's own importer (a fresh scene each) and writes every
joint's world position at each of the clip's FRAMES sample times (k x FRAME_TIME
seconds). Blender keys an imported animation at time x the scene's whole frame rate, so
a clip at 30.0003 fps is looked at on subframes, where its samples are."""

import json
import sys

import bpy
import numpy

# Debian's Blender 3.4 importer builds meshes with numpy.bool, which Debian's numpy 1.24
# no longer has (any glTF with a mesh fails there, not only ours): restore the alias.
if not hasattr(numpy, "bool"):
    numpy.bool = bool

args = sys.argv[sys.argv.index("--") + 1 :]
out, files = args[0], list(zip(args[1::3], args[2::3], args[3::3]))
result = {}
for path, count, frame_time in files:
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    scene.render.fps, scene.render.fps_base = max(1, round(1 / float(frame_time))), 1.0
    bpy.ops.import_scene.gltf(filepath=path)
    armature = next(o for o in scene.objects if o.type == "ARMATURE")
    frames = []
    for k in range(int(count)):
        at = k * float(frame_time) * scene.render.fps
        scene.frame_set(int(at), subframe=at - int(at))
        world = armature.matrix_world
        frames.append({b.name: list(world @ b.head) for b in armature.pose.bones})
    result[path] = {"frames": frames}
open(out, "w").write(json.dumps(result))
