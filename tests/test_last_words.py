"""A text in a live conversation is scanned joined to the survivor's last words (read
with the open conversation, one statement): a phrase split across two texts is a
crisis; the peer's words, words erased since and an older conversation never count."""

from __future__ import annotations

from sqlalchemy import update

from peerline.models import Conversation, ConversationStatus, Message
from peerline.people.lookup import get_or_create_survivor
from peerline.text import conversations

from .helpers import LINE
from .test_text_line import ALEX, SURV, add_volunteer


def test_a_crisis_split_across_two_texts_is_caught(phones, svc):
    add_volunteer(svc, "Alex", ALEX)
    phones.pair(ALEX, SURV)
    first = phones.replies(phones.text(SURV, "i swear sometimes i wanna"))
    assert not any("988" in r for r in first)
    replies = phones.replies(phones.text(SURV, "die"))
    assert any("988" in r for r in replies)  # the hotline first: joined with the text before


def test_words_older_than_the_window_are_not_joined(phones, svc, clock):
    add_volunteer(svc, "Alex", ALEX)
    phones.pair(ALEX, SURV)
    phones.text(SURV, "i swear sometimes i wanna")
    clock.advance(11 * 60)
    # "die lol" alone is nobody's crisis (the classifier: P ~0; a lone "die" it flags);
    # joined with the words before it, it would be
    assert not any("988" in r for r in phones.replies(phones.text(SURV, "die lol")))


def test_the_last_words_are_the_survivors_own_in_the_open_conversation(svc, clock):
    with svc.sessions.begin() as session:
        survivor = get_or_create_survivor(session, svc.line, "+15557770301", "en")
        old = conversations.start(session, svc.line, survivor, LINE)
        session.flush()
        sid = iter(range(1000))

        def said(conversation: Conversation, who: str, body: str | None) -> None:
            session.add(Message(sid=f"SMlast{next(sid)}", conversation_id=conversation.id,
                                sender="survivor", sender_hash=who, line_number=LINE,
                                body=body, num_media=0, kind="text", created_at=clock.now))
            session.flush()

        said(old, survivor.phone_hash, "from a conversation long closed")
        old.status = ConversationStatus.CLOSED
        session.flush()
        assert conversations.open_with_last_words(session, survivor.id,
                                                  survivor.phone_hash) == (None, None)
        live = conversations.start(session, svc.line, survivor, LINE)
        session.flush()
        assert conversations.open_with_last_words(session, survivor.id,
                                                  survivor.phone_hash) == (live, None)
        said(live, survivor.phone_hash, "first")
        said(live, survivor.phone_hash, "second")
        said(live, "someone-else", "the peer's words")
        said(live, survivor.phone_hash, None)  # erased since: no words
        found, last = conversations.open_with_last_words(session, survivor.id,
                                                         survivor.phone_hash)
        assert found is live and last == ("second", clock.now)
        session.execute(update(Message).where(Message.sid == "SMlast2").values(body=None))
        assert conversations.open_with_last_words(
            session, survivor.id, survivor.phone_hash)[1] == ("first", clock.now)
