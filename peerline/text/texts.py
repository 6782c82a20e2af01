"""Every word the line texts to people, in English and Spanish."""

from __future__ import annotations

from typing import Any

TEXTS: dict[str, dict[str, str]] = {
    "welcome": {
        "en": "Hi, you've reached the peer support line. A trained peer volunteer will text "
              "you back here soon. You can write whenever you're ready. Reply STOP to opt "
              "out, HELP for help.",
        "es": "Hola, has llegado a la línea de apoyo entre pares. Una persona voluntaria "
              "capacitada te escribirá aquí pronto. Puedes escribir cuando quieras. Responde "
              "STOP para no recibir más mensajes, HELP para ayuda.",
    },
    "nobody_on_shift": {
        "en": "No peer volunteer is on shift right now, so a reply may take a while; you "
              "stay in line and we'll text you here. {hours} {hotline}",
        "es": "Ahora mismo no hay voluntarios de turno, así que la respuesta puede tardar; "
              "sigues en la fila y te escribiremos aquí. {hours} {hotline}",
    },
    "still_waiting": {
        "en": "Thank you for waiting, you're still in line and a peer will text you as soon "
              "as one is free. {hotline}",
        "es": "Gracias por esperar, sigues en la fila y una persona voluntaria te escribirá "
              "en cuanto esté libre. {hotline}",
    },
    "connected_survivor": {
        "en": "A peer volunteer is here now and will text you from this number.",
        "es": "Una persona voluntaria ya está aquí y te escribirá desde este número.",
    },
    "ended_survivor": {
        "en": "This conversation has ended. Thank you for reaching out. Text this number "
              "any time to talk again.",
        "es": "Esta conversación ha terminado. Gracias por escribir. Escribe a este número "
              "cuando quieras volver a hablar.",
    },
    "idle_survivor": {
        "en": "We haven't heard from you in a while, so we've closed this conversation. "
              "Take care of yourself; text this number any time to talk again.",
        "es": "Hace un rato que no sabemos de ti, así que cerramos esta conversación. "
              "Cuídate; escribe a este número cuando quieras volver a hablar.",
    },
    "volunteer_left_survivor": {
        "en": "Your peer had to step away. You're at the front of the line and the next "
              "peer will text you here.",
        "es": "Tu par tuvo que retirarse. Estás al frente de la fila y la próxima persona "
              "voluntaria te escribirá aquí.",
    },
    "help_survivor": {
        "en": "Peer support line: text us any time and a trained peer will reply. #END "
              "ends a conversation, STOP opts out, #ERASE erases your messages and "
              "stops all texts. {hotline}",
        "es": "Línea de apoyo entre pares: escríbenos y una persona voluntaria te "
              "responderá. #END termina la conversación, STOP para no recibir más, #ERASE borra "
              "tus mensajes. {hotline}",
    },
    "start_survivor": {
        "en": "You're subscribed again. Text us any time to talk with a peer.",
        "es": "Vuelves a estar suscrito/a. Escríbenos cuando quieras hablar con un par.",
    },
    "media_not_relayed": {
        "en": "Pictures and other media can't be passed on through this line, only text. "
              "Your words were received.",
        "es": "Las fotos y otros archivos no se pueden reenviar por esta línea, solo texto. "
              "Recibimos tus palabras.",
    },
    "empty": {
        "en": "We got an empty message. Write whenever you're ready.",
        "es": "Recibimos un mensaje vacío. Escribe cuando quieras.",
    },
    "too_long": {
        "en": "That message was very long, so only the first part is passed on.",
        "es": "Ese mensaje era muy largo; solo se reenvía la primera parte.",
    },
    "received_later": {
        "en": "We received your message. Our system is slow right now, but a peer will "
              "text you back here.",
        "es": "Recibimos tu mensaje. Nuestro sistema va lento ahora, pero una persona "
              "voluntaria te escribirá aquí.",
    },
}

VOLUNTEER_TEXTS: dict[str, str] = {
    "on": "You're on shift. Thank you! Offers will arrive here; reply YES to take one or "
          "PASS. Text OFF when you're done.",
    "on_again": "You're already on shift. Text OFF to end it.",
    "off": "You're off shift. Thank you for your time today.",
    "off_already": "You're not on shift. Text ON to start.",
    "off_holding": "You still have {n} live conversation(s). Finish with #END in each, or "
                   "text OFF again to hand them over to the next peer.",
    "off_handed_over": "You're off shift; your {n} conversation(s) went back to the front "
                       "of the line with their history. Thank you.",
    "status": "You're {shift}. Live conversations: {active}. Pending offers: {offers}. "
              "Waiting in line: {waiting}.",
    "offer": "Offer: someone is waiting ({lang}, {minutes} min{crisis}). \"{preview}\" "
             "Reply YES to take it or PASS.",
    "offer_crisis": "CRISIS OFFER (sent to all on shift, first YES takes it): someone is "
                    "waiting ({lang}, {minutes} min). \"{preview}\" Reply YES to take it.",
    "accepted": "You're connected (conversation #{cid}, {lang}). Everything you text to this "
                "number goes to them. #END to finish, #CRISIS to escalate, #HELP for help.",
    "accepted_history": "You're connected (conversation #{cid}, {lang}), handed over from "
                        "another peer. Recent messages:\n{history}\nEverything you text to "
                        "this number goes to them. #END to finish.",
    "taken": "Thanks, that conversation was taken by another peer.",
    "offer_closed": "That offer is closed: the person left or the conversation ended. "
                    "Thank you.",
    "offer_gone": "That offer is no longer open (another peer took it, or it closed).",
    "no_offer": "There's no open offer for you right now.",
    "passed": "Passed. Thanks for saying so.",
    "expired": "The offer timed out and went to the next peer. Reply STATUS any time.",
    "auto_off": "You missed {n} offers in a row, so no new offers will come for now; any "
                "live conversations go on. Text ON to get offers again.",
    "ended": "Conversation #{cid} has ended. Thank you.",
    "ended_by_survivor": "The person ended conversation #{cid}. Thank you for being there.",
    "survivor_left": "The person has left (opted out of texts) in conversation #{cid}. "
                     "Nothing more will reach them.",
    "idle_closed": "Conversation #{cid} was closed after a quiet hour.",
    "nudge": "Checking in: the person in conversation #{cid} is waiting for your reply.",
    "requeued": "Conversation #{cid} went back to the line because it had no reply for a "
                "while. Text STATUS to check in.",
    "help": "Commands: ON, OFF, STATUS; BREAK 15 pauses new offers for 15 min (1-120), "
            "BACK ends the break; to an offer YES or PASS. In a conversation: #END, "
            "#CRISIS, #HELP; anything else is passed on.",
    "unknown": "Sorry, I didn't get that. Commands: ON, OFF, STATUS, YES, PASS, BREAK, BACK, "
               "HELP.",
    "break_on": "You're on a break for {minutes} min: no new offers until it ends; your live "
                "conversations go on. Text BACK to end it sooner.",
    "break_range": "A break is 1 to 120 minutes, for example BREAK 15 (BREAK alone is 15 "
                   "min). Nothing changed.",
    "back": "Welcome back: new offers can reach you again.",
    "back_no_break": "You're not on a break, so offers can already reach you. BREAK 15 "
                     "pauses them for 15 min.",
    "media": "Media can't be passed on through the line; send text only.",
    "crisis_flagged": "Thank you. Crisis escalation recorded for conversation #{cid}; the "
                      "on-call coordinator has been alerted.",
    # The classifier's "watch" level: never a crisis alert, never seen by the survivor.
    "watch_note": "Note (not a crisis alert): the next message in conversation #{cid} may "
                  "hint at risk. Check in gently; text #CRISIS if you think it is one.",
    "crisis_alert": "CRISIS ALERT in your conversation #{cid} ({category}). Hotline info was "
                    "sent to them. Stay with them; the coordinator is alerted.",
    # The same two without an on-call coordinator (PEERLINE_ONCALL_NUMBER unset): no
    # promise that someone else knows; the escalation log still keeps it.
    "crisis_flagged_no_oncall": "Thank you. Crisis escalation recorded for conversation "
                                "#{cid}. No on-call coordinator is set up for this line.",
    "crisis_alert_no_oncall": "CRISIS ALERT in your conversation #{cid} ({category}). "
                              "Hotline info was sent to them. Stay with them; no on-call "
                              "coordinator is set up for this line.",
    "not_in_conversation": "You're not in a conversation on this number. Text STATUS.",
}

ONCALL_TEXTS: dict[str, str] = {
    "nobody_on_shift": "peerline: someone is waiting (conversation #{cid}) and no volunteer "
                       "is on shift.",
    "waiting_long": "peerline: conversation #{cid} has waited {minutes} min with no peer.",
    "crisis": "peerline CRISIS: conversation #{cid}, {category}, source {source}. "
              "Reply ACK {eid} to acknowledge escalation #{eid}.",
    "gateway_refused": "peerline: Twilio refused the line's credentials (HTTP {status}) from "
                       "{since} UTC; texts were held, not lost, until it accepted them again. "
                       "Check TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN if this recurs.",
    "status_held": " Twilio is refusing the line's credentials (HTTP {status}): {held} text(s) "
                   "held; check TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN.",
    "help": "peerline on-call: ACK n acknowledges escalation #n; STATUS shows the line.",
    "acked": "Escalation #{eid} acknowledged. Thank you.",
    "ack_unknown": "No open escalation #{eid}.",
    "status": "peerline: {waiting} waiting, {active} live, {on_shift} volunteer(s) on shift, "
              "{open} open escalation(s).",
    "pin_locked": "peerline: voice access for volunteer #{vid} ({name}) is locked for "
                  "{minutes} min after repeated wrong PINs on calls showing their number. "
                  "If it wasn't them, someone may be faking their caller ID. A new PIN "
                  "(roster set-pin) lifts the lock.",
}


def say(key: str, lang: str, **values: Any) -> str:
    """The survivor-facing text ``key`` in ``lang`` (English when unknown)."""
    table = TEXTS[key]
    return table.get(lang, table["en"]).format(**values).strip()


# --- group sessions (peerline.groups) ----------------------------------------------------
GROUP_TEXTS: dict[str, dict[str, str]] = {
    "groups_none": {
        "en": "There are no group sessions coming up right now. Text this number any time "
              "to talk with a peer one-to-one.",
        "es": "Ahora mismo no hay sesiones de grupo próximas. Escribe a este número cuando "
              "quieras para hablar con un par.",
    },
    "groups_list": {
        "en": "Upcoming peer groups by phone: {items}. Reply JOIN and the number to sign "
              "up (JOIN 1), LEAVE and the number to cancel.",
        "es": "Próximos grupos de apoyo por teléfono: {items}. Responde JOIN y el número "
              "para inscribirte (JOIN 1), LEAVE y el número para cancelar.",
    },
    "groups_item": {
        "en": "{n}) {when}: {topic} ({language}, {minutes} min){mark}",
        "es": "{n}) {when}: {topic} ({language}, {minutes} min){mark}",
    },
    "groups_mark": {"en": " - you're signed up", "es": " - ya estás inscrito/a"},
    "group_joined": {
        "en": "You're signed up for {topic}, {when}. At that time call {number} and enter "
              "your session PIN {pin}, then #. We'll text you a reminder. LEAVE {n} "
              "cancels.",
        "es": "Te inscribiste en {topic}, {when}. A esa hora llama al {number} y marca tu "
              "PIN de sesión {pin} y luego #. Te enviaremos un recordatorio. LEAVE {n} "
              "cancela.",
    },
    "group_already": {
        "en": "You're already signed up for {topic}, {when}. Call {number} then and enter "
              "your session PIN {pin}, then #.",
        "es": "Ya estás inscrito/a en {topic}, {when}. Llama al {number} a esa hora y marca "
              "tu PIN de sesión {pin} y luego #.",
    },
    "group_full": {
        "en": "Sorry, {topic} on {when} is full. Text GROUPS to see other sessions, or text "
              "this number any time to talk with a peer one-to-one.",
        "es": "Lo sentimos, {topic} del {when} está lleno. Escribe GROUPS para ver otras "
              "sesiones, o escribe a este número para hablar con un par.",
    },
    "group_no_such": {
        "en": "There's no group number {n} right now. Text GROUPS to see the list.",
        "es": "No hay un grupo número {n} ahora. Escribe GROUPS para ver la lista.",
    },
    "group_left": {
        "en": "You've left {topic} on {when}. Thank you for letting us know.",
        "es": "Cancelaste tu lugar en {topic} del {when}. Gracias por avisarnos.",
    },
    "group_not_signed": {
        "en": "You're not signed up for group {n}. Text GROUPS to see the list.",
        "es": "No estás inscrito/a en el grupo {n}. Escribe GROUPS para ver la lista.",
    },
    "group_reminder": {
        "en": "Reminder: {topic} starts {when}. Call {number} and enter your session PIN "
              "{pin}, then #. Can't make it? Reply LEAVE {n}.",
        "es": "Recordatorio: {topic} empieza {when}. Llama al {number} y marca tu PIN de "
              "sesión {pin} y luego #. ¿No puedes ir? Responde LEAVE {n}.",
    },
}
TEXTS.update(GROUP_TEXTS)
