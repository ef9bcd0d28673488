from inference.engine.stopping import StopScanner


def test_stop_split_across_chunks_is_caught_and_hidden():
    scanner = StopScanner(["END"])
    shown = []
    for chunk in ["The a", "nswer E", "N", "D and more"]:
        text, hit = scanner.feed(chunk)
        shown.append(text)
        if hit:
            break
    assert "".join(shown) == "The answer "
    assert hit


def test_without_stops_everything_passes_through():
    scanner = StopScanner([])
    assert scanner.feed("abc") == ("abc", False)
    assert scanner.flush() == ""


def test_held_back_text_is_flushed_at_the_end():
    scanner = StopScanner(["###"])
    assert scanner.feed("ab#") == ("a", False)
    assert scanner.flush() == "b#"
