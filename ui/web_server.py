"""How the web server under Gradio holds a lecture hall's connections.

Keep-alive. A browser loads the page over six connections and reuses each one for the next request;
uvicorn (which Gradio starts with its defaults) closes a connection that has been idle for 5 seconds.
While a thousand pages load at once, a page waits longer than that between two of its requests (the
scripts that ask for the next files are still coming), so the server closes connections just as their
browser sends the next request on them: the request is lost ("server disconnected without sending a
response"; a browser resends it, a plain HTTP client does not). Connections are kept open for
KEEP_ALIVE_SECONDS, longer than any such wait; a browser closes its own idle ones long before (Chromium:
10 s unused, 5 minutes used).

Waiting connections. A lecture hall opens thousands of connections within seconds; those the server has
not accepted yet wait in the kernel's queue of the listening socket, 2,048 long as uvicorn makes it. Beyond
it the kernel leaves the connection half open and retries, and after about a minute of a saturated server
resets it: the browser sees the connection dropped. The queue is made as long as the system allows
(``net.core.somaxconn``, 4,096 on current Linux): a waiting student then waits, and is answered.

Open files. Each open page holds two event streams (Gradio's heartbeat, the model news) and up to six
connections: a thousand pages are thousands of sockets, above the common default limit of 1,024 open
files per process, beyond which the server could accept no connection. The limit is raised to what the
system allows.
"""
from __future__ import annotations

import os
import socket

import gradio as gr

KEEP_ALIVE_SECONDS = 60
WAITING_CONNECTIONS = 65_535  # the kernel caps it at net.core.somaxconn
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


def hold_connections(app: gr.Blocks, seconds: float = KEEP_ALIVE_SECONDS) -> None:
    """On the server Gradio has just launched (Gradio passes no such setting to uvicorn): keep idle connections
    open for ``seconds`` (uvicorn: 5), and let as many connections as the system allows wait to be accepted.

    uvicorn reads the keep-alive for each new connection; those accepted since the launch are told too (a copy
    of the set, made while holding the interpreter lock: the server's thread adds to it). A listening socket
    takes a new queue length when told to listen again (through a duplicate of its descriptor)."""
    server = app.server
    server.config.timeout_keep_alive = seconds
    for connection in list(server.server_state.connections):
        connection.timeout_keep_alive = seconds
    for listening in (sock for asyncio_server in server.servers for sock in asyncio_server.sockets):
        try:
            with socket.socket(fileno=os.dup(listening.fileno())) as duplicate:
                duplicate.listen(WAITING_CONNECTIONS)
        except OSError:
            pass  # the queue keeps the length it has
