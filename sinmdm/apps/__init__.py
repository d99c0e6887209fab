"""Layer 4: what a command does (generate, edit, transfer, crowd, evaluate, preview), built
from the layers below."""
