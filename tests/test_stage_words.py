"""The open stage's words live beside the screens' words (node/i18n_words.json): a stage word must
not take the name of a screen's word, or a German screen before the festival would say the
stage's label instead of "Beginnt Fr 16:00" (and fail on its %s)."""
from pandascreen.core import layout
from pandascreen.node import i18n

T = 1784376000  # a Saturday, 12:00 UTC


def test_a_screen_still_says_when_the_festival_starts_in_every_language():
    for lang, word in (("de", "Beginnt"), ("fr", "Commence"), ("en_US", "Starts")):
        view = {"say": ("starts", T + 86400 + 3600), "at": T, "utc_offset": 0, "message": "Starts x"}
        assert i18n.translate(view, lang)["message"].startswith(word + " "), (lang, view["message"])
    assert layout.SAY["starts"] == i18n.labels("en")["starts"]


def test_every_language_has_the_stage_words_and_the_same_placeholders():
    en = i18n.labels("en")
    for lang in ("de", "fr"):
        words = i18n.labels(lang)
        for key, text in en.items():
            assert text.count("%") == words[key].count("%"), (lang, key)
        assert words["book"] != en["book"] and words["refused_invite_only"] != en["refused_invite_only"]
