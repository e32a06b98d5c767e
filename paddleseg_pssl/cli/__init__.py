"""Command-line entry points; tools/*.py are thin launchers over these ``main`` functions."""
