"""The app's pages beside the student page: one module each (``Blocks.route``), built after the student page."""
