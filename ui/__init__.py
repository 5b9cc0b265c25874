"""The pages' Gradio side: each tab's and page's wiring, and Gradio's own parts hardened for a classroom.

``tabs/``: one module per tab of the student page (demo.py lists them); ``pages/``: the other pages (the
instructor's); ``class_api`` and ``class_panel``: the class's API and the student's side of a class, on the
Draw tab; ``header``: the dataset and the model's card; ``friendly`` and ``queues``: what every event shares (messages for a user's mistakes, the
queue's groups). Hardened parts: ``sketchpad``, a Sketchpad that checks what clients send before anything
decodes it and keeps no unused upload; ``request_limits``, a bound on every request's body;
``light_sessions``, sessions that cost kilobytes, not a copy of the page; ``config_cache``, the page and
its configuration built once per address, and ``asset_cache``, the files a page loads, both answered from
memory before Gradio's middleware (``memory_first``); ``load_on_open``, the code of a closed tab's components
downloaded when it opens; ``number_dropdown``, dropdowns of numbers whose API docs say so;
``live_network``, the drawing pad and live panel of the page's network.
"""
