"""The load benchmark's parts (``python -m benchmarks.bench_load`` runs it): what each client sends
(``plans``), one client (``client``) and a phase's many (``client_pool``), the instructor's training
(``instructor``), the two servers side by side (``servers``), the server's CPU and memory (``sampling``), one phase driven end to end (``drive``),
its figures (``statistics``) and the printed report with its verdicts (``report``); and the students who
replay a page load recorded from Chromium (``page_replay``, for ``python -m benchmarks.bench_page_load``).
"""
