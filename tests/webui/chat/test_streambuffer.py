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


def test_forget_deleted_drops_text_and_flags_and_stops_answers_being_written():
    from webui.chat import streambuffer

    for message_id in (900001, 900002):
        streambuffer.append(message_id, "text")
        streambuffer.request_stop(message_id)

    streambuffer.forget_deleted([900001, 900002], active=[900002])

    assert streambuffer.read(900001) == streambuffer.read(900002) == b""
    assert streambuffer.stops_requested([900001, 900002]) == [False, True]


def test_forget_deleted_with_redis_away_leaves_the_keys_to_expire(settings, caplog):
    from tests.environment import free_port
    from webui.chat import streambuffer
    from webui.core.redis import client

    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    client.cache_clear()
    try:
        streambuffer.forget_deleted([1, 2], active=[2])
    finally:
        client.cache_clear()

    assert "could not drop the buffers of 2 deleted messages" in caplog.text
