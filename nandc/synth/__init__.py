"""Synthesis engines shared by the passes (see DESIGN.md, "Engines under the passes")."""
