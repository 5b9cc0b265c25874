"""The class's news (webapp/class_events.py) while its store cannot be read: a PostgreSQL server restarting
mid-class must not leave the wall and the students' pages deaf until they reload. The streams stay open, the
poller tries again, and what happened meanwhile reaches the pages once the store is back; said once in the
server's log, without the database's address or password.
"""
from __future__ import annotations

import asyncio
import json
import time
import uuid

import httpx
import psycopg
import pytest

from classroom.store import BUSY_SECONDS
from harness.app_server import running_app
from harness.classroom import KEY, event_index, page_digits, run_event, send_once
from harness.postgres import postgres_cluster
from webapp import class_events
from webapp.class_events import WALL, ClassNews

NEWS_SECONDS = 2.0  # the bound for a send to reach the wall


class Store:
    """The two counters of one class, and a switch that makes reading them fail as a database away does."""

    def __init__(self) -> None:
        self.versions, self.away = (1, 0), False

    def read(self, code: str) -> tuple[int, int]:
        if self.away:
            raise psycopg.OperationalError('connection to server at "127.0.0.1", port 5432 failed: Connection refused')
        return self.versions


async def follow(news: ClassNews, received: list) -> None:
    async for message in news.stream("ABCDEF", WALL):
        received.append((time.monotonic(), message))


def all_messages(news: ClassNews) -> list[str]:
    """What a page following a class's wall is sent, until its stream ends."""
    async def read() -> list[str]:
        return [message async for message in news.stream("ABCDEF", WALL)]

    return asyncio.run(read())


async def until(condition, timeout: float) -> float:
    """Wait until ``condition()``; the time it became true."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "not within the time allowed"
        await asyncio.sleep(0.01)
    return time.monotonic()


def test_the_news_waits_while_the_store_is_away_and_follows_when_it_is_back(monkeypatch, capsys):
    monkeypatch.setattr(class_events, "AWAY_SECONDS", 0.2)
    store = Store()
    news = ClassNews(store.read, lambda code, version: {}, away=(psycopg.OperationalError,), poll_seconds=0.05)

    async def scenario() -> None:
        received: list = []
        reader = asyncio.create_task(follow(news, received))
        await until(lambda: len(received) == 1, 5)
        store.away = True
        await asyncio.sleep(0.5)  # several polls fail
        store.versions = (2, 0)  # a drawing sent meanwhile, through another replica
        await asyncio.sleep(0.5)
        assert len(received) == 1 and not reader.done() and not news._poller.done(), "still open, still polling"
        store.away = False
        back = time.monotonic()
        arrived = await until(lambda: len(received) == 2, 2)
        assert json.loads(received[1][1].removeprefix("data: ")) == {"version": 2}
        assert arrived - back < 0.2 + 0.3  # the next try
        reader.cancel()

    asyncio.run(scenario())
    said = capsys.readouterr().out
    assert said.count("cannot be read (OperationalError)") == 1 and said.count("can be read again") == 1
    assert "127.0.0.1" not in said and "5432" not in said


def test_a_page_that_comes_while_the_store_is_away_is_told_to_come_back_soon():
    store = Store()
    store.away = True
    news = ClassNews(store.read, lambda code, version: {}, away=(psycopg.OperationalError,))
    assert all_messages(news) == [f"retry: {class_events.AWAY_SECONDS * 2000:.0f}\n\n"]
    assert not news.watchers


def test_a_bug_is_not_taken_for_a_database_away():
    news = ClassNews(lambda code: 1 / 0, lambda code, version: {}, away=(psycopg.OperationalError,))
    with pytest.raises(ZeroDivisionError):
        all_messages(news)


def test_postgresql_restarted_mid_class_the_wall_hears_the_drawings_sent_after(tmp_path, offline_data_dir):
    with postgres_cluster() as cluster:
        database = cluster.database("classes")
        log = tmp_path / "server.log"
        with running_app("--class-db", database, "--instructor-key", KEY, "--data-dir", str(offline_data_dir),
                         log=log) as (url, _):
            asyncio.run(restart_mid_class(url, cluster))
        said = log.read_text()
    assert said.count("The class store cannot be read") == 1 and "can be read again" in said
    assert database.split("@")[0].rsplit(":", 1)[1] not in said, "the database's password is in the log"
    assert "Traceback" not in said


async def restart_mid_class(url: str, cluster) -> None:
    digits = page_digits(3)
    async with httpx.AsyncClient(timeout=60) as page:
        opened, error = await run_event(page, url, event_index(url, "class_open"), uuid.uuid4().hex, [KEY])
        assert opened is not None, error
        code, send = opened[0]["code"], event_index(url, "class_send")
        received: list = []
        wall = asyncio.create_task(read_wall(page, f"{url}cnn-demo/class/{code}/events", received))
        await until(lambda: len(received) == 1, 10)
        student = uuid.uuid4().hex
        number, error = await send_once(page, url, send, student, [code, *digits[0]])
        assert number == 1, error
        await until(lambda: len(received) == 2, NEWS_SECONDS)

        cluster.stop()
        await asyncio.sleep(BUSY_SECONDS + 3)  # a read waits that long for a connection: the poller finds it away
        cluster.start()
        number, error = await send_once(page, url, send, student, [code, *digits[1]])
        assert number == 2, error  # the store's pool found its connections gone and made new ones
        acknowledged = time.monotonic()
        arrived = await until(lambda: len(received) == 3, NEWS_SECONDS + 2)
        assert received[2][1]["version"] == received[1][1]["version"] + 1 and not wall.done()
        print(f"after the restart: a send on the wall's stream {arrived - acknowledged:.2f} s after it was "
              "acknowledged")
        assert arrived - acknowledged < NEWS_SECONDS
        wall.cancel()


async def read_wall(page: httpx.AsyncClient, stream_url: str, received: list) -> None:
    async with page.stream("GET", stream_url, timeout=None) as answer:
        assert answer.status_code == 200
        async for line in answer.aiter_lines():
            if line.startswith("data:"):
                received.append((time.monotonic(), json.loads(line[5:])))
