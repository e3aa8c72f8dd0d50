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
    {
        *("hello", "hi", "hey", "hiya", "heya", "howdy", "yo", "hola", "greetings", "sup", "wassup"),
        *("morning", "afternoon", "evening", "gm", "gn"),
        *("thanks", "thank", "thankyou", "thx", "ty", "tysm", "cheers", "appreciate", "appreciated"),
        *("welcome", "worries", "np", "bless"),
        *("ok", "okay", "k", "kk", "okey", "alright", "cool", "great", "nice", "awesome", "perfect"),
        *("excellent", "wonderful", "lovely", "brilliant", "fine", "good"),
        *("yes", "yeah", "yep", "yup", "ya", "no", "nope", "nah", "sure"),
        *("bye", "goodbye", "cya", "ttyl", "later", "goodnight"),
        *("lol", "haha", "hahaha", "hehe", "lmao", "omg", "wow", "xx", "xoxo"),
        *("test", "testing", "hmm", "hm", "um", "umm", "uh", "oh", "ah"),
        *("help", "bot", "robot", "human", "person", "chatbot", "ai", "real", "question", "questions"),
        *("sorry", "oops", "nevermind", "understood", "whatever", "what", "huh", "joke", "useless", "stupid"),
    }
)
#: Words that may stand beside them ("thank you so much", "is anyone there").
_FILLER = frozenset(
    {
        *("a", "an", "the", "and", "or", "to", "for", "of", "with", "so", "very", "much", "many"),
        *("lot", "lots", "all", "just", "again", "still", "here", "there", "up", "too", "x"),
        *("you", "u", "your", "yours", "youre", "i", "im", "me", "my", "we", "us", "it", "its"),
        *("this", "that", "is", "are", "am", "was", "be", "no", "not"),
        *("anyone", "anybody", "someone", "somebody", "everyone", "guys", "dear", "sir", "madam"),
        *("mate", "please", "day", "night", "see", "talking", "how", "who", "whats", "doing"),
        *("r", "hows", "going", "today", "got", "bad", "never", "mind", "can", "could", "have"),
        *("talk", "speak", "tell", "does", "do", "well", "then", "one", "some", "name", "old"),
    }
)
_KEYBOARD_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")


#: Chat that is made only of filler words ("how are you"), as whole phrases.
_PHRASES = ("how are you", "how are u", "how r u", "whats up", "how is it going", "hows it going",
            "who are you", "are you there", "anyone there", "what can you do", "your name",
            "how old are you", "never mind", "got it", "my bad")


def is_small_talk(message: str) -> bool:
    """Whether ``message`` is small talk or a non-question rather than a question."""
    letters = [c for c in message if c.isalpha()]
    if len(letters) <= 1:  # "?", "👍👍", "42", "k"
        return True
    typed = re.findall(r"[^\W\d_]+", message.lower().replace("'", "").replace("’", ""))
    if all(_mash(w) for w in typed):
        return True
    # "hiii", "heyyy", "thanksss": a letter held down is the same word.
    words = [w if w in _SOCIAL else re.sub(r"(.)\1{2,}", r"\1", w) for w in typed]
    if not all(w in _SOCIAL or w in _FILLER for w in words):
        return False
    text = " ".join(words)
    return any(w in _SOCIAL for w in words) or any(p in text for p in _PHRASES)


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
