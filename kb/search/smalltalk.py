"""Small talk and non-questions: "hello", "thanks!", "ok", "?", "👍", "42", "asdf".

They get a short friendly reply with example questions, never passages: a greeting is not a
question the documents could answer, and the passage nearest to "hello" is noise.

A message is small talk when it has no letters (emoji, punctuation, a bare number), is a
single letter, is keyboard mash, or is made only of greeting, thanks, acknowledgement,
farewell and chat words with at least one of the first kind ("thank you so much!!", "are
you a real person"). One word that could start a question ("how much", "help with
redness") makes it a question.
"""

from __future__ import annotations

import re

#: Shown under the reply (and on the ask page): questions the shipped documents answer.
EXAMPLE_QUESTIONS = (
    "How long is the redness after a CO2 laser?",
    "How many sessions will I need?",
    "Can I have laser resurfacing if I get cold sores?",
    "When can I wear makeup again?",
    "What is the cancellation policy?",
)

REPLY = (
    "Hello! I find answers in the clinic's documents about laser skin resurfacing. "
    "Ask a question, for example: "
)

#: Words that make a message small talk.
_SOCIAL = frozenset(
    [
        "hello",
        "hi",
        "hey",
        "hiya",
        "heya",
        "howdy",
        "yo",
        "hola",
        "greetings",
        "morning",
        "afternoon",
        "evening",
        "thanks",
        "thank",
        "thankyou",
        "thx",
        "ty",
        "cheers",
        "appreciate",
        "appreciated",
        "ok",
        "okay",
        "k",
        "kk",
        "okey",
        "alright",
        "cool",
        "great",
        "nice",
        "awesome",
        "perfect",
        "excellent",
        "wonderful",
        "lovely",
        "brilliant",
        "fine",
        "good",
        "yes",
        "yeah",
        "yep",
        "yup",
        "ya",
        "no",
        "nope",
        "nah",
        "sure",
        "bye",
        "goodbye",
        "cya",
        "ttyl",
        "later",
        "lol",
        "haha",
        "hahaha",
        "hehe",
        "lmao",
        "omg",
        "wow",
        "test",
        "testing",
        "hmm",
        "hm",
        "um",
        "umm",
        "uh",
        "oh",
        "ah",
        "help",
        "bot",
        "robot",
        "human",
        "person",
        "chatbot",
        "ai",
        "real",
    ]
)
#: Words that may stand beside them ("thank you so much", "is anyone there").
_FILLER = frozenset(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "to",
        "for",
        "of",
        "with",
        "so",
        "very",
        "much",
        "many",
        "lot",
        "lots",
        "all",
        "just",
        "again",
        "still",
        "here",
        "there",
        "you",
        "u",
        "your",
        "yours",
        "i",
        "me",
        "my",
        "we",
        "us",
        "it",
        "this",
        "that",
        "is",
        "are",
        "am",
        "was",
        "be",
        "anyone",
        "anybody",
        "someone",
        "somebody",
        "everyone",
        "guys",
        "dear",
        "sir",
        "madam",
        "please",
        "day",
        "night",
        "see",
        "talking",
        "how",
        "who",
        "what",
        "doing",
    ]
)
_KEYBOARD_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")


def is_small_talk(message: str) -> bool:
    """Whether ``message`` is small talk or a non-question rather than a question."""
    letters = [c for c in message if c.isalpha()]
    if len(letters) <= 1:  # "?", "👍👍", "42", "k"
        return True
    words = re.findall(r"[^\W\d_]+", message.lower().replace("'", "").replace("’", ""))
    if any(_SOCIAL & {w} for w in words) and all(w in _SOCIAL or w in _FILLER for w in words):
        return True
    return all(_mash(w) for w in words)


def _mash(word: str) -> bool:
    """Keyboard mash: a run along a keyboard row ("asdf"), one letter held ("jjjj"), or no
    vowel in a word long enough to need one ("sdfgh")."""
    if len(word) < 3:
        return False
    if any(word in row or word[::-1] in row for row in _KEYBOARD_ROWS):
        return True
    if re.search(r"(.)\1\1", word):
        return True
    return len(word) >= 4 and not re.search(r"[aeiouy]", word)
