from etl_core.text import clip, preview


def test_clip_keeps_short_values_and_marks_what_it_cuts() -> None:
    assert clip("abc", 3) == "abc"
    assert clip("x" * 1_000_000, 10) == "x" * 10 + "…[+999990 chars]"


def test_preview_quotes_and_gives_the_full_length() -> None:
    assert preview("abc") == "'abc'"
    assert preview("y" * 50, 5) == "'yyyyy'… (50 chars)"
