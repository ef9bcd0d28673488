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
