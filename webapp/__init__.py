"""The app's logic between the UI (ui/, wired by demo.py) and the explainers: no Gradio in here.

Each ``*_view`` module turns a user's request into pictures and text for one tab;
``served`` keeps one set of explainers per served model; ``policy`` decides what the
instructor allows on this server.
"""
