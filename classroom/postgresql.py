"""The class store on PostgreSQL, for replicas: several app servers behind a load balancer share one class.

``ClassStore`` (classroom/store.py) holds the SQL and the rules of the store; this engine is what is PostgreSQL's
own, beside ``SQLiteEngine``. It is psycopg 3 (the PostgreSQL adapter for Python) and its connection pool, not
SQLAlchemy: the store's SQL is already plain and written once for both engines, so all an engine adds is how
to connect, begin and commit, which psycopg says in a few lines, where SQLAlchemy would bring a second layer of
connections and transactions around both engines (and its own rules for SQLite's locking) for nothing more.

- Each send is committed before it is answered (PostgreSQL's ``synchronous_commit``, on by default: the
  commit's log record is on the server's disk), so a replica killed mid-class loses nothing it acknowledged,
  and another replica serves the class on.
- The store's writes take the row locks they need: a send updates its class's row first (its counter), an
  opening updates ``store_meta``'s one row first, so that in PostgreSQL's default isolation (read committed)
  the limits counted afterwards in the same transaction see every write committed before, on any replica.
  Two replicas starting at once take an advisory lock to bring the schema up to date one after the other.
- Each replica keeps at most CONNECTIONS connections (the class's events run eight at a time, beside the
  wall's news poller and the retention sweep): size the server's ``max_connections`` to replicas x CONNECTIONS.
- An ended or expired class is erased from the tables' files: ``VACUUM FULL`` writes the tables anew without
  its rows and deletes the old files (a plain VACUUM leaves a page's last rows in its free space). PostgreSQL's
  write-ahead log still holds them until its segments are recycled (``max_wal_size``), as do its backups: the
  database server's disk is the administrator's to protect (encrypted storage).
- A store is private: its tables belong to the role the app connects as, and PostgreSQL grants no other role
  (but superusers) any right on them.
"""
from __future__ import annotations

import contextlib
import re
import zlib
from functools import lru_cache
from typing import Iterator
from urllib.parse import urlsplit

import psycopg
from psycopg import sql
from psycopg_pool import ConnectionPool

from classroom.store import BUSY_SECONDS, Transaction

CONNECTIONS = 10
# Two replicas starting together migrate the schema one after the other (pg_advisory_xact_lock's key).
SCHEMA_LOCK = zlib.crc32(b"cnn-demo class store schema")
# The store's tables: every table of the schema it connects to (a later schema's new tables included).
TABLES = "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename"
NAMED_PARAMETER = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")  # :name, not a ::cast


@lru_cache(maxsize=256)
def pyformat(statement: str) -> str:
    """The store's SQL, whose parameters are ``:name``, in psycopg's ``%(name)s`` style (a ``%`` doubled)."""
    return NAMED_PARAMETER.sub(r"%(\1)s", statement.replace("%", "%%"))


def is_url(location: object) -> bool:
    return str(location).startswith(("postgresql://", "postgres://"))


def where(url: str) -> str:
    """The server and database a URL names, without its user or password: for messages."""
    parts = urlsplit(url)
    with contextlib.suppress(ValueError):  # a port that is no number
        return f"the PostgreSQL database {parts.path.lstrip('/') or '?'} on {parts.hostname}:{parts.port or 5432}"
    return "the PostgreSQL database of --class-db"


def without_password(message: str, url: str) -> str:
    """``message`` (the driver's, which may quote a malformed URL) with the URL's password left out."""
    password = urlsplit(url).password
    return message.replace(password, "…") if password else message


class PostgreSQLTransaction(Transaction):
    def rows(self, sql: str, **params: object) -> list[tuple]:
        cursor = self._cursor
        cursor.execute(pyformat(sql), params)
        return cursor.fetchall() if cursor.description is not None else []  # a statement that returns no rows


class PostgreSQLEngine:
    """What is PostgreSQL's own: a pool of connections to the database at ``url`` (``postgresql://user@host/db``;
    the password from the URL, ``PGPASSWORD`` or ``~/.pgpass``, as libpq finds it)."""

    binary = "BYTEA"
    away = (psycopg.OperationalError,)  # the server restarting or unreachable; the pool's timeout is one too

    def __init__(self, url: str, connections: int = CONNECTIONS) -> None:
        # One connection first, in the open: a wrong password or an unreachable server is said as PostgreSQL says
        # it (psycopg.OperationalError), where the pool would only time out.
        psycopg.connect(url, connect_timeout=int(BUSY_SECONDS)).close()
        # autocommit: no implicit transactions; ours begin and end where ``transaction`` says. A connection the
        # server closed (a restart) is found out before it is lent, not by a student's send.
        self.pool = ConnectionPool(url, min_size=1, max_size=connections, timeout=BUSY_SECONDS, open=True,
                                   kwargs={"autocommit": True}, check=ConnectionPool.check_connection,
                                   name="cnn-demo-classes")

    @contextlib.contextmanager
    def transaction(self, write: bool) -> Iterator[Transaction]:
        """Commits when the block ends, rolls back if it raises. ``write`` needs nothing more here: the store's
        statements take the row locks that serialize what must be (see the module's docstring)."""
        with self.pool.connection() as connection, connection.transaction():
            yield PostgreSQLTransaction(connection.cursor())

    @staticmethod
    def lock_schema(tx: Transaction) -> None:
        tx.rows("SELECT pg_advisory_xact_lock(:key)", key=SCHEMA_LOCK)

    @staticmethod
    def has_table(tx: Transaction, name: str) -> bool:
        return tx.row("SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
                      " AND table_name = :name", name=name) is not None

    def erase_freed(self) -> None:
        """Write the tables anew without the deleted rows, and delete the old files that still held them."""
        with self.pool.connection() as connection:
            tables = [sql.Identifier(name) for (name,) in connection.execute(TABLES).fetchall()]
            connection.execute(f"SET lock_timeout = '{BUSY_SECONDS:.0f}s'")  # no queue of sends behind a long wait
            try:
                connection.execute(sql.SQL("VACUUM FULL {}").format(sql.SQL(", ").join(tables)))
            finally:
                connection.execute("RESET lock_timeout")

    def integrity_check(self) -> str:
        """PostgreSQL's own checker (the amcheck extension, where the database's owner has installed it) run over
        the store's tables and indexes: "ok", or what it found."""
        with self.transaction(write=False) as tx:
            if tx.row("SELECT extname FROM pg_extension WHERE extname = 'amcheck'") is None:
                return "not checked: PostgreSQL's amcheck extension is not installed in this database"
            tables = [name for (name,) in tx.rows(TABLES)]
            found = tx.rows("SELECT c.relname || ': ' || v.msg FROM pg_class c, verify_heapam(c.oid) v"
                            " WHERE c.relname = ANY(:tables) AND c.relnamespace = CAST(current_schema() AS regnamespace)",
                            tables=tables)
            indexes = tx.rows("SELECT i.indexrelid FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid"
                              " WHERE c.relname = ANY(:tables) AND c.relnamespace = CAST(current_schema() AS regnamespace)",
                              tables=tables)
            for (index,) in indexes:  # raises on a damaged index, or one that misses a row of its table
                tx.rows("SELECT bt_index_check(CAST(:index AS oid), true)", index=index)
        return "; ".join(row[0] for row in found) or "ok"

    def close(self) -> None:
        self.pool.close()
