"""What the tests and the benchmarks both need: start the app as its own process (``app_server``),
draw digits as a student would (``strokes``), read a process's memory (``memory``), and write a data
folder for code that needs a training set (``data_folder``). Tests and benchmarks import this
package, never each other.
"""
