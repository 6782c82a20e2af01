"""The webhook's TwiML is written directly: byte for byte what twilio's
``MessagingResponse`` writes, for any texts (escaping, unicode, empty ones skipped)."""

from __future__ import annotations

import random

from twilio.twiml.messaging_response import MessagingResponse

from peerline.telephony.twiml import messages


def _twilios(texts: list[str]) -> str:
    response = MessagingResponse()
    for text in texts:
        if text:
            response.message(text)
    return str(response)


def test_the_same_bytes_as_twilios_messaging_response() -> None:
    cases = [[], [""], ["hi"], ["", "a", ""], ["Tom & Jerry <3 > \"quoted\" 'single'"],
             ["línea de crisis 988 — llama ya 📞", "second\nline\r\n\ttabbed"],
             ["&amp; already escaped &lt;", "]]> cdata end", "  spaces  "]]
    rng = random.Random(14)
    alphabet = "ab &<>\"'\n\t\r;#é漢😀]"
    cases += [["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30)))
               for _ in range(rng.randint(0, 4))] for _ in range(500)]
    for texts in cases:
        response = messages(texts)
        assert response.get_data(as_text=True) == _twilios(texts), texts
        assert response.mimetype == "text/xml" and response.status_code == 200
