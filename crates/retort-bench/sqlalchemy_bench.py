#!/usr/bin/env python3
"""The retort-bench workloads on SQLAlchemy 2.x, ORM and Core.

Optional: needs `pip install 'sqlalchemy>=2,<3'`, plus `psycopg2-binary` for PostgreSQL and
`pymysql` for MariaDB. It seeds the same data set as the Rust bench (crates/retort-bench/src/
data.rs), checks each implementation's result once, then times it and prints the median of each
workload in the same units as the Rust summary. `--json FILE` writes the medians in the form
`summary --extra FILE` merges into the Rust table, as ratios to the Rust raw driver.

    python3 crates/retort-bench/sqlalchemy_bench.py                    # SQLite
    python3 crates/retort-bench/sqlalchemy_bench.py --all-backends     # + in memory, PostgreSQL, MariaDB

Each backend gets a fresh database of its own (SQLite: a temporary file, and for
`sqlite-memory` an in-memory database shared by the process's connections; the servers: the
database named by RETORT_BENCH_PY_DATABASE, default `retort_bench_sqlalchemy`, dropped and
created on the server of RETORT_POSTGRES_URL / RETORT_MYSQL_URL, reached over TCP without TLS).
`--memory FILE` measures the peak memory of loading 100 000 users instead of timing.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from typing import Callable, List, Optional

try:
    import sqlalchemy
    from sqlalchemy import (
        Column,
        ForeignKey,
        Integer,
        MetaData,
        String,
        Table,
        create_engine,
        delete,
        event,
        insert,
        select,
        text,
    )
    from sqlalchemy.engine import make_url
    from sqlalchemy.orm import (
        DeclarativeBase,
        Mapped,
        Session,
        mapped_column,
        relationship,
        selectinload,
    )
except ImportError:  # pragma: no cover - the message is the point
    sys.exit("sqlalchemy_bench.py needs SQLAlchemy 2.x: pip install 'sqlalchemy>=2,<3'")

if int(sqlalchemy.__version__.split(".")[0]) < 2:
    sys.exit(f"SQLAlchemy 2.x is required, found {sqlalchemy.__version__}")

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
DEFAULT_MYSQL_URL = "mysql://root@127.0.0.1:3306/test"
BLACK = "black"

# ---------------------------------------------------------------------------------------------
# The data set: the same rows as data.rs.


def hair_color(index: int) -> Optional[str]:
    return {0: BLACK, 1: "brown", 2: BLACK, 3: None}[index % 4]


class Fixture:
    def __init__(self) -> None:
        self.users: list[tuple] = []  # (id, name, hair_color)
        self.posts: list[tuple] = []  # (id, user_id, title, body)
        self.comments: list[tuple] = []  # (id, post_id, text)

    @staticmethod
    def with_users(n: int) -> "Fixture":
        f = Fixture()
        f.users = [(i + 1, f"User {i}", hair_color(i)) for i in range(n)]
        return f

    def add_post(self, user_id: int, k: int) -> tuple:
        index = len(self.posts)
        pid = index + 1
        body = f"Body of post {pid}" if index % 2 == 0 else None
        post = (pid, user_id, f"Post {k} by user {user_id}", body)
        self.posts.append(post)
        return post

    @staticmethod
    def users_with_posts(n: int) -> "Fixture":
        f = Fixture.with_users(n)
        for i, user in enumerate(f.users):
            for k in range(i % 3):
                f.add_post(user[0], k)
        return f

    @staticmethod
    def users_posts_comments(users: int, posts: int, comments: int) -> "Fixture":
        f = Fixture.with_users(users)
        for user in f.users:
            for k in range(posts):
                post = f.add_post(user[0], k)
                for c in range(comments):
                    cid = len(f.comments) + 1
                    f.comments.append((cid, post[0], f"Comment {c} on post {post[0]}"))
        return f

    def expected_medium(self) -> list:
        rows = []
        for user in self.users:
            if user[2] != BLACK:
                continue
            posts = [p for p in self.posts if p[1] == user[0]]
            rows.extend((user, p) for p in posts) if posts else rows.append((user, None))
        return sorted(rows, key=lambda r: (r[0][0], r[1][0] if r[1] else -1))

    def expected_trees(self) -> list:
        comments = defaultdict(list)
        for c in self.comments:
            comments[c[1]].append(c)
        posts = defaultdict(list)
        for p in self.posts:
            posts[p[1]].append((p, comments[p[0]]))
        return [(u, posts[u[0]]) for u in self.users]


def new_users(n: int) -> list[dict]:
    return [{"name": f"New user {i}", "hair_color": hair_color(i)} for i in range(n)]


# ---------------------------------------------------------------------------------------------
# Schema: the same DDL as admin.rs; Core tables and ORM classes mapped onto it.

DDL = {
    "sqlite": [
        "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, hair_color TEXT)",
        "CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users (id),"
        " title TEXT NOT NULL, body TEXT)",
        "CREATE TABLE comments (id INTEGER PRIMARY KEY,"
        " post_id INTEGER NOT NULL REFERENCES posts (id), text TEXT NOT NULL)",
        "CREATE INDEX posts_user_id ON posts (user_id)",
        "CREATE INDEX comments_post_id ON comments (post_id)",
    ],
    "postgres": [
        "CREATE TABLE users (id SERIAL PRIMARY KEY, name TEXT NOT NULL, hair_color TEXT)",
        "CREATE TABLE posts (id SERIAL PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users (id),"
        " title TEXT NOT NULL, body TEXT)",
        "CREATE TABLE comments (id SERIAL PRIMARY KEY,"
        " post_id INTEGER NOT NULL REFERENCES posts (id), text TEXT NOT NULL)",
        "CREATE INDEX posts_user_id ON posts (user_id)",
        "CREATE INDEX comments_post_id ON comments (post_id)",
    ],
    "mysql": [
        "CREATE TABLE users (id INTEGER NOT NULL AUTO_INCREMENT PRIMARY KEY,"
        " name VARCHAR(255) NOT NULL, hair_color VARCHAR(255)) ENGINE = InnoDB",
        "CREATE TABLE posts (id INTEGER NOT NULL AUTO_INCREMENT PRIMARY KEY,"
        " user_id INTEGER NOT NULL, title VARCHAR(255) NOT NULL, body TEXT,"
        " FOREIGN KEY (user_id) REFERENCES users (id)) ENGINE = InnoDB",
        "CREATE TABLE comments (id INTEGER NOT NULL AUTO_INCREMENT PRIMARY KEY,"
        " post_id INTEGER NOT NULL, text VARCHAR(255) NOT NULL,"
        " FOREIGN KEY (post_id) REFERENCES posts (id)) ENGINE = InnoDB",
    ],
}
DDL["sqlite-memory"] = DDL["sqlite"]

# Connections that keep the in-memory SQLite databases alive for the whole run.
KEEP_ALIVE: List[sqlite3.Connection] = []

metadata = MetaData()
users_t = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(255), nullable=False),
    Column("hair_color", String(255)),
)
posts_t = Table(
    "posts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", ForeignKey("users.id"), nullable=False),
    Column("title", String(255), nullable=False),
    Column("body", String),
)
comments_t = Table(
    "comments",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("post_id", ForeignKey("posts.id"), nullable=False),
    Column("text", String(255), nullable=False),
)


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    hair_color: Mapped[Optional[str]] = mapped_column(String(255))
    posts: Mapped[List["Post"]] = relationship(back_populates="user")


class Post(Base):
    __tablename__ = "posts"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    title: Mapped[str] = mapped_column(String(255))
    body: Mapped[Optional[str]]
    user: Mapped[User] = relationship(back_populates="posts")
    comments: Mapped[List["Comment"]] = relationship()


class Comment(Base):
    __tablename__ = "comments"
    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id"))
    text: Mapped[str] = mapped_column(String(255))


# ---------------------------------------------------------------------------------------------
# Backends.


def fresh_engine(backend: str, database: str, recreate: bool = True):
    """A new, empty database with the schema, and an engine on it; with `recreate=False` an
    engine on the database an earlier call made (an in-memory one is always new)."""
    recreate = recreate or backend == "sqlite-memory"
    if backend in ("sqlite", "sqlite-memory"):
        memory = backend == "sqlite-memory"
        if memory:
            # One in-memory database shared by the process's connections (SQLite's memdb VFS),
            # as in the Rust bench; it lives while a connection to it is open.
            uri = f"file:/{database}?vfs=memdb"
            KEEP_ALIVE.append(sqlite3.connect(uri, uri=True))
            engine = create_engine(f"sqlite:///{uri}&uri=true")
        else:
            path = os.path.join(tempfile.gettempdir(), f"{database}.sqlite3")
            for suffix in ("", "-wal", "-shm", "-journal") if recreate else ():
                if os.path.exists(path + suffix):
                    os.remove(path + suffix)
            engine = create_engine(f"sqlite:///{path}")

        @event.listens_for(engine, "connect")
        def pragmas(dbapi_connection, _record):
            # The same settings as config::SQLITE_CONNECTION_PRAGMAS and SQLITE_MEMORY_PRAGMAS
            # in the Rust bench.
            cursor = dbapi_connection.cursor()
            if memory:
                cursor.execute("PRAGMA journal_mode = MEMORY")
            cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.execute("PRAGMA foreign_keys = ON")
            cursor.close()

        if not memory:
            with engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA journal_mode = WAL")
    else:
        env, default, driver = {
            "postgres": ("RETORT_POSTGRES_URL", DEFAULT_POSTGRES_URL, "postgresql+psycopg2"),
            "mysql": ("RETORT_MYSQL_URL", DEFAULT_MYSQL_URL, "mysql+pymysql"),
        }[backend]
        server = make_url(os.environ.get(env, default)).set(drivername=driver)
        if backend == "postgres" and "sslmode" not in server.query:
            # Over TCP without TLS, as every client of the Rust bench; PyMySQL uses TCP for a
            # host name and TLS only when given `ssl` arguments.
            server = server.update_query_dict({"sslmode": "disable"})
        if not recreate:
            return create_engine(server.set(database=database))
        admin = create_engine(server, isolation_level="AUTOCOMMIT")
        quote = '"' if backend == "postgres" else "`"
        with admin.connect() as conn:
            force = " WITH (FORCE)" if backend == "postgres" else ""
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {quote}{database}{quote}{force}")
            charset = " CHARACTER SET utf8mb4" if backend == "mysql" else ""
            conn.exec_driver_sql(f"CREATE DATABASE {quote}{database}{quote}{charset}")
        admin.dispose()
        engine = create_engine(server.set(database=database))
    if not recreate:
        return engine
    with engine.begin() as conn:
        for ddl in DDL[backend]:
            conn.exec_driver_sql(ddl)
    return engine


def load(engine, backend: str, fixture: Fixture) -> None:
    with engine.begin() as conn:
        for table in (comments_t, posts_t, users_t):
            conn.execute(delete(table))
        if fixture.users:
            conn.execute(
                insert(users_t),
                [{"id": i, "name": n, "hair_color": h} for i, n, h in fixture.users],
            )
        if fixture.posts:
            conn.execute(
                insert(posts_t),
                [{"id": i, "user_id": u, "title": t, "body": b} for i, u, t, b in fixture.posts],
            )
        if fixture.comments:
            conn.execute(
                insert(comments_t),
                [{"id": i, "post_id": p, "text": t} for i, p, t in fixture.comments],
            )
        if backend == "postgres":
            for table in ("users", "posts", "comments"):
                conn.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                    f" (SELECT COALESCE(MAX(id), 0) + 1 FROM {table}), false)"
                )
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "ANALYZE TABLE users, posts, comments" if backend == "mysql" else "ANALYZE"
        )


def clear_users(engine) -> None:
    with engine.begin() as conn:
        conn.execute(delete(users_t))


def stored_users(engine) -> list:
    with engine.connect() as conn:
        return [
            (r.name, r.hair_color)
            for r in conn.execute(select(users_t).order_by(users_t.c.id))
        ]


# ---------------------------------------------------------------------------------------------
# The workloads. Each returns what it loaded; `normalize_*` turn that into the fixture's tuples
# outside the timed loop.


class CoreImpl:
    """Core: a pooled Connection per workload run, select()/insert() constructs, Row results."""

    name = "sqlalchemy_core"

    def __init__(self, engine):
        self.engine = engine
        self.by_id = select(users_t).where(users_t.c.id == sqlalchemy.bindparam("id"))
        self.medium = (
            select(users_t, posts_t)
            .select_from(users_t.outerjoin(posts_t, posts_t.c.user_id == users_t.c.id))
            .where(users_t.c.hair_color == BLACK)
        )

    def trivial_query(self):
        with self.engine.connect() as conn:
            return conn.execute(select(users_t)).all()

    def stream_query(self, visit):
        with self.engine.connect() as conn:
            streamed = conn.execution_options(stream_results=True, yield_per=STREAM_BATCH)
            for row in streamed.execute(select(users_t)):
                visit(row)

    def query_by_id(self, ids):
        with self.engine.connect() as conn:
            return [conn.execute(self.by_id, {"id": i}).one() for i in ids]

    def insert_users(self, users):
        with self.engine.begin() as conn:
            conn.execute(insert(users_t), users)

    def medium_complex_query(self):
        with self.engine.connect() as conn:
            return conn.execute(self.medium).all()

    def loading_associations(self):
        with self.engine.connect() as conn:
            users = conn.execute(select(users_t)).all()
            posts = conn.execute(
                select(posts_t).where(posts_t.c.user_id.in_([u.id for u in users]))
            ).all()
            comments = conn.execute(
                select(comments_t).where(comments_t.c.post_id.in_([p.id for p in posts]))
            ).all()
        by_post = defaultdict(list)
        for c in comments:
            by_post[c.post_id].append(c)
        by_user = defaultdict(list)
        for p in posts:
            by_user[p.user_id].append((p, by_post[p.id]))
        return [(u, by_user[u.id]) for u in users]

    @staticmethod
    def user(row):
        return (row.id, row.name, row.hair_color)

    def normalize_medium(self, rows):
        out = []
        for row in rows:
            m = row._mapping
            user = (m[users_t.c.id], m[users_t.c.name], m[users_t.c.hair_color])
            post = None
            if m[posts_t.c.id] is not None:
                post = (m[posts_t.c.id], m[posts_t.c.user_id], m[posts_t.c.title], m[posts_t.c.body])
            out.append((user, post))
        return out

    def normalize_trees(self, trees):
        return [
            (self.user(u), [(tuple(p), [tuple(c) for c in cs]) for p, cs in posts])
            for u, posts in trees
        ]


class OrmImpl:
    """ORM: a fresh Session per workload run (so the identity map starts empty), mapped
    classes, selectinload for the nested load."""

    name = "sqlalchemy_orm"

    def __init__(self, engine):
        self.engine = engine

    def trivial_query(self):
        with Session(self.engine) as session:
            return session.scalars(select(User)).all()

    def stream_query(self, visit):
        with Session(self.engine) as session:
            stmt = select(User).execution_options(yield_per=STREAM_BATCH)
            for user in session.scalars(stmt):
                visit(user)

    def query_by_id(self, ids):
        with Session(self.engine) as session:
            return [session.get(User, i) for i in ids]

    def insert_users(self, users):
        with Session(self.engine) as session:
            session.add_all([User(name=u["name"], hair_color=u["hair_color"]) for u in users])
            session.commit()

    def medium_complex_query(self):
        with Session(self.engine) as session:
            stmt = (
                select(User, Post)
                .outerjoin(User.posts)
                .where(User.hair_color == BLACK)
            )
            return session.execute(stmt).all()

    def loading_associations(self):
        with Session(self.engine) as session:
            stmt = select(User).options(selectinload(User.posts).selectinload(Post.comments))
            return session.scalars(stmt).all()

    @staticmethod
    def user(u):
        return (u.id, u.name, u.hair_color)

    @staticmethod
    def post(p):
        return (p.id, p.user_id, p.title, p.body)

    def normalize_medium(self, rows):
        return [(self.user(u), self.post(p) if p is not None else None) for u, p in rows]

    def normalize_trees(self, users):
        return [
            (
                self.user(u),
                [(self.post(p), [(c.id, c.post_id, c.text) for c in p.comments]) for p in u.posts],
            )
            for u in users
        ]


def sort_trees(trees):
    return sorted(
        ((u, sorted(((p, sorted(cs)) for p, cs in posts), key=lambda x: x[0][0])) for u, posts in trees),
        key=lambda t: t[0][0],
    )


# ---------------------------------------------------------------------------------------------
# Cases, checks, timing.

CASES = [
    ("trivial_query", 1),
    ("trivial_query", 100),
    ("trivial_query", 10_000),
    ("query_by_id", 1000),
    ("insert", 100),
    ("insert", 1000),
    ("medium_complex_query", 1000),
    ("loading_associations", 100),
    ("stream_query", 10_000),
]

# The batch size of `stream_query` (`yield_per`), as retort-bench's ORM uses.
STREAM_BATCH = 1000


def fixture_for(workload: str, n: int) -> Fixture:
    if workload in ("trivial_query", "query_by_id", "stream_query"):
        return Fixture.with_users(n)
    if workload == "medium_complex_query":
        return Fixture.users_with_posts(n)
    if workload == "loading_associations":
        return Fixture.users_posts_comments(n, 10, 10)
    return Fixture()


class CheckFailed(Exception):
    pass


def check(impl, engine, workload: str, n: int, fixture: Fixture) -> None:
    """Runs the workload once, untimed, and compares it with the seeded data."""
    if workload == "trivial_query":
        got = sorted(impl.user(u) for u in impl.trivial_query())
        expected = fixture.users
    elif workload == "stream_query":
        seen = []
        impl.stream_query(lambda u: seen.append(impl.user(u)))
        got = sorted(seen)
        expected = fixture.users
    elif workload == "query_by_id":
        ids = [u[0] for u in fixture.users]
        got = [impl.user(u) for u in impl.query_by_id(ids)]
        expected = fixture.users
    elif workload == "insert":
        clear_users(engine)
        users = new_users(n)
        impl.insert_users(users)
        got = stored_users(engine)
        expected = [(u["name"], u["hair_color"]) for u in users]
    elif workload == "medium_complex_query":
        got = sorted(
            impl.normalize_medium(impl.medium_complex_query()),
            key=lambda r: (r[0][0], r[1][0] if r[1] else -1),
        )
        expected = fixture.expected_medium()
    else:
        got = sort_trees(impl.normalize_trees(impl.loading_associations()))
        expected = sort_trees(fixture.expected_trees())
    if got != expected:
        raise CheckFailed(
            f"{impl.name} on {workload} (N = {n}): result differs from the seeded data\n"
            f"  got:      {str(got)[:300]}\n  expected: {str(expected)[:300]}"
        )


def measure(routine: Callable[[], object], setup: Callable[[], None], min_time: float,
            min_samples: int, max_samples: int) -> tuple:
    """Median of per-run wall times in nanoseconds and their median absolute deviation (scaled
    by 1.4826, as criterion's); `setup` runs untimed before each run."""
    setup()
    routine()  # warm-up: compiled caches, prepared statements
    samples = []
    started = time.perf_counter()
    while len(samples) < max_samples and (
        len(samples) < min_samples or time.perf_counter() - started < min_time
    ):
        setup()
        t0 = time.perf_counter_ns()
        routine()
        samples.append(time.perf_counter_ns() - t0)
    median = statistics.median(samples)
    return median, 1.4826 * statistics.median(abs(x - median) for x in samples)


def proc_status(field: str) -> int:
    """A `/proc/self/status` field in bytes."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def memory_child(name: str, backend: str, rows: int, what: str, database: str) -> dict:
    """One load of every user, in this fresh process, as the Rust `memory` bin measures it:
    `heap` traces Python's allocations with tracemalloc (peak during the load less what was
    live before); `rss` measures without tracemalloc, which has a cost of its own in memory."""
    import tracemalloc

    engine = fresh_engine(backend, database, recreate=False)
    if backend == "sqlite-memory":
        load(engine, backend, Fixture.with_users(rows))
    impl = {"sqlalchemy_core": CoreImpl, "sqlalchemy_orm": OrmImpl}[name](engine)
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # resets VmHWM to the current resident set
    rss_before = proc_status("VmRSS")
    if what == "heap":
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
    loaded = impl.trivial_query()
    figures = {"rows": len(loaded)}
    if what == "heap":
        figures["heap_peak_bytes"] = tracemalloc.get_traced_memory()[1] - before
        tracemalloc.stop()
    else:
        figures["vm_hwm_bytes"] = proc_status("VmHWM")
        figures["rss_growth_bytes"] = figures["vm_hwm_bytes"] - rss_before
    if len(loaded) != rows:
        raise RuntimeError(f"{name} loaded {len(loaded)} rows of {rows}")
    return figures


def measure_memory(backends: list, rows: int, database: str) -> list:
    """Seeds each backend and runs two fresh child processes per implementation."""
    import subprocess

    results = []
    for backend in backends:
        if backend != "sqlite-memory":
            engine = fresh_engine(backend, database)
            load(engine, backend, Fixture.with_users(rows))
            engine.dispose()
        for name in ("sqlalchemy_core", "sqlalchemy_orm"):
            figures = {"backend": backend, "implementation": name}
            for what in ("heap", "rss"):
                child = subprocess.run(
                    [sys.executable, __file__, "--memory-child", name, backend, str(rows), what],
                    capture_output=True, text=True, check=False,
                )
                if child.returncode != 0:
                    raise RuntimeError(f"{name} on {backend}: {child.stderr.strip()}")
                figures.update(json.loads(child.stdout))
            print(f"memory: {backend:<13} {name:<16} heap peak "
                  f"{figures['heap_peak_bytes'] / 2**20:7.1f} MiB, RSS growth "
                  f"{figures['rss_growth_bytes'] / 2**20:7.1f} MiB, VmHWM "
                  f"{figures['vm_hwm_bytes'] / 2**20:7.1f} MiB", file=sys.stderr)
            results.append(figures)
    return results


def format_duration(ns: float) -> str:
    if ns >= 1e9:
        return f"{ns / 1e9:.2f} s"
    if ns >= 1e6:
        return f"{ns / 1e6:.2f} ms"
    if ns >= 1e3:
        return f"{ns / 1e3:.1f} µs"
    return f"{ns:.0f} ns"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backends", default="sqlite",
                        help="comma-separated subset of sqlite,sqlite-memory,postgres,mysql "
                        "(default sqlite)")
    parser.add_argument("--all-backends", action="store_true",
                        help="same as --backends sqlite,postgres,mysql")
    parser.add_argument("--json", help="write the medians to this file for `summary --extra`")
    parser.add_argument("--quick", action="store_true", help="short measurements (0.3 s each)")
    parser.add_argument("--min-time", type=float, default=3.0,
                        help="seconds of measurement per workload and implementation (default 3)")
    parser.add_argument("--memory", metavar="FILE",
                        help="instead of timing, measure the peak memory of loading --rows users "
                        "as the Rust `memory` bin does, and write it to FILE for `summary "
                        "--memory`")
    parser.add_argument("--rows", type=int, default=100_000,
                        help="users loaded by --memory (default 100000)")
    parser.add_argument("--memory-child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    database = os.environ.get("RETORT_BENCH_PY_DATABASE", "retort_bench_sqlalchemy")
    if args.memory_child:
        name, backend, rows, what = args.memory_child
        print(json.dumps(memory_child(name, backend, int(rows), what, database)))
        return 0

    backends = ["sqlite", "sqlite-memory", "postgres", "mysql"] if args.all_backends else [
        {"postgresql": "postgres", "mariadb": "mysql", "sqlite_memory": "sqlite-memory"}
        .get(b.strip(), b.strip())
        for b in args.backends.split(",") if b.strip()
    ]
    min_time, min_samples, max_samples = (0.3, 3, 20) if args.quick else (args.min_time, 10, 200)
    if args.memory:
        with open(args.memory, "w") as f:
            json.dump(measure_memory(backends, args.rows, database), f, indent=1)
        print(f"wrote {args.memory}", file=sys.stderr)
        return 0

    results = []
    print(f"SQLAlchemy {sqlalchemy.__version__}, Python {sys.version.split()[0]}")
    print("| backend | workload | N | implementation | median |")
    print("|---|---|---:|---|---:|")
    for backend in backends:
        if backend not in DDL:
            parser.error(f"unknown backend {backend!r}")
        engine = fresh_engine(backend, database)
        impls = [CoreImpl(engine), OrmImpl(engine)]
        for workload, n in CASES:
            fixture = fixture_for(workload, n)
            load(engine, backend, fixture)
            for impl in impls:
                check(impl, engine, workload, n, fixture)
                ids = [u[0] for u in fixture.users]
                users = new_users(n)
                routine = {
                    "trivial_query": impl.trivial_query,
                    "query_by_id": lambda: impl.query_by_id(ids),
                    "insert": lambda: impl.insert_users(users),
                    "medium_complex_query": impl.medium_complex_query,
                    "loading_associations": impl.loading_associations,
                    "stream_query": lambda: impl.stream_query(lambda u: None),
                }[workload]

                def setup(workload=workload):
                    if workload == "insert":
                        clear_users(engine)

                median, mad = measure(routine, setup, min_time, min_samples, max_samples)
                results.append({"workload": workload, "backend": backend, "n": n,
                                "implementation": impl.name, "median_ns": median,
                                "mad_ns": mad})
                print(f"| {backend} | {workload} | {n} | {impl.name} | {format_duration(median)} |",
                      flush=True)
        engine.dispose()
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
        print(f"wrote {args.json}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
