"""The workbench's panes."""
