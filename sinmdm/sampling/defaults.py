"""The sampling commands' defaults. Torch-free, so the command line shows them in --help
without importing torch (a second of start-up on a 2-core CPU)."""

DEFAULT_STEPS = 50
BATCH = 8  # samples denoised together
# A crowd is judged as a whole: 16 sampling steps keep almost all of its coverage and
# variety for a third of the time of the usual 50 (docs/decisions.md).
CROWD_STEPS = 16
SPACING_SIZES = 1.5  # default spacing between a crowd's individuals, in body sizes
DEFAULT_TRANSITION_SECONDS = 0.5  # generate --sequence: the model's own move from one clip into the next
