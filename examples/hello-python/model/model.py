"""Word statistics for a piece of text: a Truss model that uses only the standard library."""

import re
from collections import Counter

WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")
STOPWORDS = "a an and are as at be but by for from in is it of on or that the this to was with"


class BadInput(Exception):
    status_code = 400  # answered as HTTP 400, like fastapi's HTTPException


class Model:
    def __init__(self, **kwargs):
        self._stopwords = set()

    def load(self):
        # Runs once, before the first request: the place for expensive setup such as weights.
        self._stopwords = set(STOPWORDS.split())

    def predict(self, model_input):
        text = model_input.get("text") if isinstance(model_input, dict) else None
        if not isinstance(text, str):
            raise BadInput('Send a JSON object like {"text": "...", "top": 3}.')
        top = int(model_input.get("top", 5))

        words = WORD.findall(text.lower())
        counts = Counter(word for word in words if word not in self._stopwords)
        return {
            "words": len(words),
            "unique_words": len(set(words)),
            "sentences": len([s for s in re.split(r"[.!?]+", text) if s.strip()]),
            "most_common": [{"word": word, "count": n} for word, n in counts.most_common(top)],
        }
