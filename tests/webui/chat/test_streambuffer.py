from webui.chat.streambuffer import unseen_part


def test_unseen_part_skips_what_the_reader_has():
    assert unseen_part(0, 0, "abc") == b"abc"
    assert unseen_part(2, 0, "abc") == b"c"
    assert unseen_part(5, 0, "abc") == b""


def test_unseen_part_reports_a_gap():
    assert unseen_part(2, 3, "def") is None


def test_unseen_part_counts_bytes_not_characters():
    # "été" is 5 bytes: a reader holding "ét" (3 bytes) lacks only the last "é".
    assert unseen_part(3, 0, "été") == "é".encode()


def test_a_new_answer_never_inherits_an_old_buffer_or_stop_flag(db, bundled_model, monkeypatch):
    from tests.streams import make_user
    from webui.celery import app
    from webui.chat import services, streambuffer

    monkeypatch.setattr(app, "send_task", lambda *args, **kwargs: None)
    conversation = services.conversation_start(owner=make_user("alice"), content="hi")
    answer = conversation.messages.get(role="assistant")
    # Leftovers under the same id, as after a database reset.
    streambuffer.append(answer.pk, "old text")
    streambuffer.request_stop(answer.pk)
    from webui.chat import dispatch

    dispatch.enqueue_generation(message_id=answer.pk, queue="model.smollm2")
    assert streambuffer.read(answer.pk) == b""
    assert not streambuffer.stop_requested(answer.pk)
