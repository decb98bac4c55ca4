"""AMQP topic-exchange pattern matching: ``*`` matches exactly one word, ``#`` zero or more words."""

from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=4096)
def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split(".")) if text else ()  # RabbitMQ: an empty key has no words


def topic_matches(pattern: str, routing_key: str) -> bool:
    pattern_words = _words(pattern)
    key_words = _words(routing_key)
    # reachable[j]: the pattern prefix seen so far can consume exactly key_words[:j]
    reachable = [True] + [False] * len(key_words)
    for word in pattern_words:
        if word == "#":
            seen = False
            for j in range(len(reachable)):
                seen = seen or reachable[j]
                reachable[j] = seen
        else:
            nxt = [False] * len(reachable)
            for j in range(len(key_words)):
                if reachable[j] and (word == "*" or word == key_words[j]):
                    nxt[j + 1] = True
            reachable = nxt
    return reachable[-1]
