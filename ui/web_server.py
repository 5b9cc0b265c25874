"""How the web server under Gradio holds a lecture hall's connections.

Keep-alive. A browser loads the page over six connections and reuses each one for the next request;
uvicorn (which Gradio starts with its defaults) closes a connection that has been idle for 5 seconds.
While a thousand pages load at once, a page waits longer than that between two of its requests (the
scripts that ask for the next files are still coming), so the server closes connections just as their
browser sends the next request on them: the request is lost ("server disconnected without sending a
response"; a browser resends it, a plain HTTP client does not). Connections are kept open for
KEEP_ALIVE_SECONDS, longer than any such wait; a browser closes its own idle ones long before (Chromium:
10 s unused, 5 minutes used).

Open files. Each open page holds two event streams (Gradio's heartbeat, the model news) and up to six
connections: a thousand pages are thousands of sockets, above the common default limit of 1,024 open
files per process, beyond which the server could accept no connection. The limit is raised to what the
system allows.
"""
from __future__ import annotations

import gradio as gr

KEEP_ALIVE_SECONDS = 60
MANY_FILES = 65_536  # where the hard limit is "unlimited" (macOS), which the soft one cannot be


def allow_many_connections() -> None:
    """Raise this process's open-files limit as far as the system allows (Unix; Windows has no such limit)."""
    try:
        import resource
    except ImportError:
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = MANY_FILES if hard == resource.RLIM_INFINITY else hard
    if soft != resource.RLIM_INFINITY and soft < wanted:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
        except (ValueError, OSError):
            pass  # the system refuses: the server runs with the limit it has


def keep_connections_alive(app: gr.Blocks, seconds: float = KEEP_ALIVE_SECONDS) -> None:
    """Keep idle connections open for ``seconds`` (uvicorn: 5), on the server Gradio has just launched (Gradio
    passes no such setting): uvicorn reads it for each new connection; those accepted since the launch are
    told too (a copy of the set, made while holding the interpreter lock: the server's thread adds to it)."""
    server = app.server
    server.config.timeout_keep_alive = seconds
    for connection in list(server.server_state.connections):
        connection.timeout_keep_alive = seconds
