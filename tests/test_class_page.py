"""The class's pages as demo.py builds them, inspected without a server: classes off on a Space without a key,
the instructor link printed only for a key the server made, and nothing of the instructor's page in the
student's."""
from __future__ import annotations

import gradio as gr
import pytest

import demo
from classroom.classes import CLASSES_OFF
from classroom.postgresql import PostgreSQLEngine
from cnn.model_manager import ModelManager
from harness.postgres import postgres_cluster
from webapp.class_setup import instructor_link_line, open_classroom
from webapp.policy import ServerPolicy
from webapp.served import ServedExplainers


@pytest.fixture(scope="module")
def served():
    return ServedExplainers(ModelManager())


def build(served: ServedExplainers, classroom) -> gr.Blocks:
    return demo.build_app(served.manager, served, ServerPolicy(allow_training=True), "mnist", demo.ClassApi(classroom))


def page_texts(app: gr.Blocks, page: str) -> list[str]:
    return [str(block.value) for block in app.blocks.values()
            if getattr(block, "page", None) == page and isinstance(block, gr.Markdown)]


def test_on_a_space_without_a_key_classes_are_off_and_the_page_says_how_to_turn_them_on(served, tmp_path,
                                                                                        monkeypatch):
    monkeypatch.setenv("SYSTEM", "spaces")
    monkeypatch.delenv("CNN_DEMO_INSTRUCTOR_KEY", raising=False)
    classroom = open_classroom(served, str(tmp_path), None, 24)
    assert not classroom.enabled and instructor_link_line(classroom, "http://x/") is None
    texts = page_texts(build(served, classroom), "instructor")
    assert any(CLASSES_OFF in text and "CNN_DEMO_INSTRUCTOR_KEY" in text for text in texts)


def test_a_local_server_without_a_key_makes_one_and_says_its_link_once(served, tmp_path, monkeypatch):
    monkeypatch.delenv("SYSTEM", raising=False)
    monkeypatch.delenv("CNN_DEMO_INSTRUCTOR_KEY", raising=False)
    classroom = open_classroom(served, str(tmp_path), None, 24)
    key = classroom.key.generated
    line = instructor_link_line(classroom, "http://127.0.0.1:7860/", "https://abc.gradio.live")
    assert f"http://127.0.0.1:7860/instructor#key={key}" in line and f"https://abc.gradio.live/instructor#key={key}" in line
    assert classroom.key.generated is None and classroom.key.check(key), "said once, then only its digest is kept"
    assert instructor_link_line(classroom, "http://127.0.0.1:7860/") is None
    given = open_classroom(served, str(tmp_path), "a key the instructor chose, long", 24)
    assert instructor_link_line(given, "http://127.0.0.1:7860/") is None, "a key that was given is never printed"
    assert not any(CLASSES_OFF in text for text in page_texts(build(served, classroom), "instructor"))


def test_the_students_page_holds_nothing_of_the_instructors(served, tmp_path):
    classroom = open_classroom(served, str(tmp_path), "a key the instructor chose, long", 24)
    app = build(served, classroom)
    student, instructor = app.config["page"][""], app.config["page"]["instructor"]
    assert not set(student["components"]) & set(instructor["components"])
    ids = {block._id: block for block in app.blocks.values()}
    assert any(getattr(ids[i], "elem_id", None) == "class-panel" for i in student["components"])
    assert not any(getattr(ids[i], "elem_id", None) in ("class-wall", "class-opener") for i in student["components"])


def test_a_folder_that_cannot_hold_the_classes_is_refused_with_its_reason(served, tmp_path):
    (tmp_path / "not a store").mkdir()
    ((tmp_path / "not a store") / "classes.sqlite3").write_bytes(b"this is no database, whatever its name" * 100)
    with pytest.raises(ValueError, match="cannot be kept in .*not a store"):
        open_classroom(served, str(tmp_path / "not a store"), "a key the instructor chose, long", 24)
    with pytest.raises(ValueError, match="retention"):
        open_classroom(served, str(tmp_path), "a key the instructor chose, long", 0)


def test_a_class_database_is_opened_or_refused_without_its_password_in_the_message(served):
    with postgres_cluster() as cluster:
        url = cluster.database("classes")
        classroom = open_classroom(served, None, "a key the instructor chose, long", 24, class_db=url)
        assert isinstance(classroom.store.engine, PostgreSQLEngine) and classroom.open("a key the instructor chose, long")
        classroom.store.close()
        wrong = cluster.url("classes", "wrong-and-secret", "classes")
        with pytest.raises(ValueError, match=f"cannot be kept in the PostgreSQL database classes on 127.0.0.1:"
                                             f"{cluster.port}: .*password authentication failed") as refused:
            open_classroom(served, None, "a key the instructor chose, long", 24, class_db=wrong)
        assert "secret" not in str(refused.value)
    with pytest.raises(ValueError, match="postgresql://"):
        open_classroom(served, None, "a key the instructor chose, long", 24, class_db="mysql://somewhere/classes")
