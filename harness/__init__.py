"""What the tests and the benchmarks both need: start the app as its own process (``app_server``),
drive Chromium and draw on its canvas with a mouse or a finger (``browser``), draw digits as a student
would (``strokes``), read a process's memory (``memory``), write a data
folder for code that needs a training set (``data_folder``), and drive a classroom of clients
against the servers (``load``: the load benchmark's parts, which its test uses too). Tests and
benchmarks import this package, never each other.
"""
