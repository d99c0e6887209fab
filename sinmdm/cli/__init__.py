"""Layer 5: the command line; each command parses, calls one function of apps, prints."""
