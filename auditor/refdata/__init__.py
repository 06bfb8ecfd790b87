"""Reference data the rules need: macOS version arithmetic and the dated release catalogue."""
