"""The workbench: a Textual app over the store that launches detached batches."""
