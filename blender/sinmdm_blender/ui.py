"""The "sinmdm" tab in the 3D viewport's sidebar: preferences, settings, and the
operators behind its buttons. Learn runs in the background (progress in the panel and
the status bar, Cancel stops it cleanly); the sampler buttons wait for their command.
Every failure is one line in the panel and in Blender's info report.

No ``from __future__ import annotations`` here: Blender reads the properties from the
classes' annotations, which must stay objects, not strings."""


import os
import queue
import signal
import threading

import bpy
from bpy.props import BoolProperty, EnumProperty, FloatProperty, IntProperty, PointerProperty, StringProperty

from . import api, runner
from .runner import SinmdmFailed


def _preference(context: bpy.types.Context) -> str:
    addon = context.preferences.addons.get(__package__)
    return addon.preferences.executable if addon else ""


class SinmdmPreferences(bpy.types.AddonPreferences):
    bl_idname = __package__

    executable: StringProperty(
        name="sinmdm command", subtype="FILE_PATH",
        description="The sinmdm command line (may carry arguments: /venv/bin/python -m sinmdm). Empty: "
        "$SINMDM_EXECUTABLE, then sinmdm on PATH",
    )

    def draw(self, context: bpy.types.Context) -> None:
        self.layout.prop(self, "executable")


class SinmdmSettings(bpy.types.PropertyGroup):
    budget: EnumProperty(name="Budget", items=[("MINUTES", "Minutes", "Wall-clock minutes"), ("STEPS", "Steps", "Training steps")])
    minutes: FloatProperty(name="Minutes", default=10.0, min=0.01, description="Training time")
    steps: IntProperty(name="Steps", default=1250, min=1, description="Training steps")
    resume: BoolProperty(name="Continue", default=False,
                         description="Continue the armature's model from its checkpoint instead of learning afresh")
    length: IntProperty(name="Length", default=0, min=0, description="Frames of each new action (0: as the learned action)")
    count: IntProperty(name="Count", default=1, min=1, max=200, description="How many new actions")
    seed: IntProperty(name="Seed", default=0, description="The same seed gives the same actions")
    loop: BoolProperty(name="Loop", default=False, description="Actions that loop seamlessly")
    cleanup: BoolProperty(name="Cleanup", default=True, description="Smooth jitter and pin feet on the floor")
    expand_length: IntProperty(name="Expanded length", default=0, min=0, description="Frames in all (0: twice the action)")
    gap_length: IntProperty(name="Gap length", default=0, min=0,
                            description="Frames of the new middle, which replaces the timeline's preview range (0: as long as the range)")
    keep: StringProperty(name="Keep", default="upper_body", description="Body part, bone names or subtree:BONE")
    crowd_count: IntProperty(name="Count", default=10, min=1, max=500)
    layout: EnumProperty(name="Layout", items=[("grid", "Grid", ""), ("random", "Random", "")])
    spacing: FloatProperty(name="Spacing", default=0.0, min=0.0, description="Distance apart (0: 1.5 body sizes)")


class SinmdmStatus(bpy.types.PropertyGroup):  # not saved with the file: the session's state
    running: BoolProperty(default=False)
    cancel: BoolProperty(default=False)
    step: IntProperty(default=0)
    total: IntProperty(default=0)
    eta: StringProperty(default="")
    message: StringProperty(default="")


def _fail(operator: bpy.types.Operator, context: bpy.types.Context, message: str) -> set[str]:
    context.window_manager.sinmdm_status.message = message
    operator.report({"ERROR"}, f"sinmdm: {message}")
    return {"CANCELLED"}


class SINMDM_OT_learn(bpy.types.Operator):
    """Learn the active action: export it as BVH and train a model on it in the background"""

    bl_idname = "sinmdm.learn"
    bl_label = "Learn"

    def execute(self, context: bpy.types.Context) -> set[str]:
        settings, status = context.scene.sinmdm, context.window_manager.sinmdm_status
        if status.running:
            return _fail(self, context, "a model is already learning")
        budget = {"steps": settings.steps} if settings.budget == "STEPS" else {"minutes": settings.minutes}
        try:
            args, self.folder = api.learn_command(context.object, resume=settings.resume, **budget)
            self.process = runner.start(args, _preference(context))
        except (SinmdmFailed, OSError) as exc:
            return _fail(self, context, str(exc))
        self.armature, self.lines, self.output, self.stopped = context.object, queue.Queue(), [], False
        threading.Thread(target=self._read, daemon=True).start()
        status.running, status.cancel, status.step, status.eta, status.message = True, False, 0, "", "learning..."
        status.total = settings.steps if settings.budget == "STEPS" else 0
        self.timer = context.window_manager.event_timer_add(0.5, window=context.window)
        context.window_manager.modal_handler_add(self)
        return {"RUNNING_MODAL"}

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.put(line)

    def modal(self, context: bpy.types.Context, event: bpy.types.Event) -> set[str]:
        if event.type != "TIMER":
            return {"PASS_THROUGH"}
        status = context.window_manager.sinmdm_status
        while not self.lines.empty():
            line = self.lines.get()
            self.output.append(line)
            found = runner.progress(line)
            if found:
                status.step, status.eta = found
        if status.cancel and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # sinmdm saves a checkpoint: Learn can resume
            status.cancel, self.stopped = False, True
        text = f"sinmdm: learning, step {status.step}" + (f", {status.eta} left" if status.eta else "")
        if context.workspace:
            context.workspace.status_text_set(text)
        for area in context.screen.areas if context.screen else ():
            area.tag_redraw()
        if self.process.poll() is None:
            return {"PASS_THROUGH"}
        return self._finish(context)

    def _finish(self, context: bpy.types.Context) -> set[str]:
        context.window_manager.event_timer_remove(self.timer)
        if context.workspace:
            context.workspace.status_text_set(None)
        status = context.window_manager.sinmdm_status
        status.running = False
        code = self.process.wait()
        saved = os.path.isfile(os.path.join(self.folder, "model.pt"))
        if self.stopped and saved:  # cancelled: the checkpoint is a model too, and Continue resumes it
            self.armature[api.RUN] = self.folder
            status.message = f"stopped at step {status.step}: Continue resumes it"
            self.report({"WARNING"}, f"sinmdm: {status.message}")
            return {"CANCELLED"}
        if code != 0 or not saved:
            return _fail(self, context, runner.error_line("".join(self.output), code))
        self.armature[api.RUN] = self.folder
        status.message = f"learned: {self.folder}"
        self.report({"INFO"}, f"sinmdm: model in {self.folder}")
        return {"FINISHED"}


class SINMDM_OT_cancel(bpy.types.Operator):
    """Stop learning (the run keeps its last checkpoint)"""

    bl_idname = "sinmdm.cancel"
    bl_label = "Cancel"

    def execute(self, context: bpy.types.Context) -> set[str]:
        context.window_manager.sinmdm_status.cancel = True
        return {"FINISHED"}


class _Sampler(bpy.types.Operator):
    """A button that runs one sampler command and waits for its actions."""

    def execute(self, context: bpy.types.Context) -> set[str]:
        try:
            made = self.sample(context, context.scene.sinmdm, _preference(context))
        except SinmdmFailed as exc:
            return _fail(self, context, str(exc))
        names = ", ".join(m.name for m in made[:3]) + (" ..." if len(made) > 3 else "")
        context.window_manager.sinmdm_status.message = f"made {names}"
        self.report({"INFO"}, f"sinmdm: made {names}")
        return {"FINISHED"}


class SINMDM_OT_generate(_Sampler):
    """New actions from the learned model"""

    bl_idname, bl_label = "sinmdm.generate", "Generate"

    def sample(self, context, s, preference):  # noqa: ANN001, ANN201
        return api.generate(context.object, s.count, s.length or None, s.seed, s.loop, s.cleanup, preference)


class SINMDM_OT_expand(_Sampler):
    """The learned action in the middle of new motion"""

    bl_idname, bl_label = "sinmdm.expand", "Expand"

    def sample(self, context, s, preference):  # noqa: ANN001, ANN201
        return api.expand(context.object, s.count, s.expand_length or None, s.seed, s.cleanup, preference)


class SINMDM_OT_inbetween(_Sampler):
    """Keep the action outside the timeline's preview range; generate the range anew"""

    bl_idname, bl_label = "sinmdm.inbetween", "In-between"

    def sample(self, context, s, preference):  # noqa: ANN001, ANN201
        scene = context.scene
        if not scene.use_preview_range:
            raise SinmdmFailed("set the timeline's preview range to the frames to generate anew")
        return api.inbetween(context.object, scene.frame_preview_start, scene.frame_preview_end + 1, s.count,
                             s.gap_length or None, s.seed, s.cleanup, preference)


class SINMDM_OT_compose(_Sampler):
    """The Keep bones as in the learned action, the rest new"""

    bl_idname, bl_label = "sinmdm.compose", "Compose"

    def sample(self, context, s, preference):  # noqa: ANN001, ANN201
        return api.compose(context.object, s.keep, s.count, s.seed, s.cleanup, preference)


class SINMDM_OT_crowd(_Sampler):
    """Linked duplicates of the armature, each with its own new action, laid out on the ground"""

    bl_idname, bl_label = "sinmdm.crowd", "Crowd"

    def sample(self, context, s, preference):  # noqa: ANN001, ANN201
        return api.crowd(context.object, s.crowd_count, s.layout, s.spacing or None, s.length or None, s.seed,
                         s.cleanup, preference)


class SINMDM_PT_panel(bpy.types.Panel):
    bl_label = "sinmdm"
    bl_space_type, bl_region_type, bl_category = "VIEW_3D", "UI", "sinmdm"

    def draw(self, context: bpy.types.Context) -> None:
        layout, obj = self.layout, context.object
        settings, status = context.scene.sinmdm, context.window_manager.sinmdm_status
        if obj is None or obj.type != "ARMATURE":
            layout.label(text="Select an armature", icon="INFO")
            return
        action = obj.animation_data.action if obj.animation_data else None
        layout.label(text=f"{obj.name}: {action.name if action else 'no action'}", icon="ARMATURE_DATA")
        box = layout.box()
        box.label(text="Learn")
        box.row().prop(settings, "budget", expand=True)
        box.prop(settings, "minutes" if settings.budget == "MINUTES" else "steps")
        if obj.get(api.RUN):
            box.prop(settings, "resume")
        if status.running:
            box.label(text=f"step {status.step}" + (f", {status.eta} left" if status.eta else ""), icon="TIME")
            box.operator("sinmdm.cancel", icon="CANCEL")
        else:
            box.operator("sinmdm.learn", icon="PLAY")
        box.label(text=f"model: {os.path.basename(obj[api.RUN])}" if obj.get(api.RUN) else "not learned yet")
        box = layout.box()
        box.label(text="New actions")
        for name in ("length", "count", "seed"):
            box.prop(settings, name)
        row = box.row()
        row.prop(settings, "loop")
        row.prop(settings, "cleanup")
        box.operator("sinmdm.generate", icon="ANIM")
        for prop, operator in (("expand_length", "sinmdm.expand"), ("gap_length", "sinmdm.inbetween"),
                               ("keep", "sinmdm.compose")):
            column = box.column(align=True)
            column.prop(settings, prop)
            column.operator(operator)
        box = layout.box()
        box.label(text="Crowd")
        for name in ("crowd_count", "layout", "spacing"):
            box.prop(settings, name)
        box.operator("sinmdm.crowd", icon="COMMUNITY")
        if status.message:
            layout.label(text=status.message)


CLASSES = (SinmdmPreferences, SinmdmSettings, SinmdmStatus, SINMDM_OT_learn, SINMDM_OT_cancel, SINMDM_OT_generate,
           SINMDM_OT_expand, SINMDM_OT_inbetween, SINMDM_OT_compose, SINMDM_OT_crowd, SINMDM_PT_panel)


def register() -> None:
    for cls in CLASSES:
        bpy.utils.register_class(cls)
    bpy.types.Scene.sinmdm = PointerProperty(type=SinmdmSettings)
    bpy.types.WindowManager.sinmdm_status = PointerProperty(type=SinmdmStatus)


def unregister() -> None:
    del bpy.types.WindowManager.sinmdm_status
    del bpy.types.Scene.sinmdm
    for cls in reversed(CLASSES):
        bpy.utils.unregister_class(cls)
