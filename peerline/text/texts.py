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
              "stops all texts. RESOURCES lists hotlines and services, PEER chooses a "
              "kind of peer, SAME asks for your last peer, VOLUNTEER to become one. "
              "{hotline}",
        "es": "Línea de apoyo entre pares: escríbenos y una persona voluntaria te "
              "responderá. #END termina la conversación, STOP para no recibir más, #ERASE borra "
              "tus mensajes. RECURSOS da líneas de ayuda y servicios, PAR elige un tipo de "
              "par, MISMO pide tu último par, VOLUNTARIO para ser voluntario/a. {hotline}",
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
    # --- peer support (issue 15): never a volunteer's name or number in any of these ---
    "resources": {
        "en": "{hotline}\nMore support:\n{entries}",
        "es": "{hotline}\nMás apoyo:\n{entries}",
    },
    "peer_question": {
        "en": "Optional: would you like a peer with a particular experience? Reply with a "
              "number: {options}. Or reply SKIP. Anything else you write goes to your "
              "peer as usual.",
        "es": "Opcional: ¿te gustaría un par con una experiencia en particular? Responde "
              "con un número: {options}. O responde OMITIR. Todo lo demás que escribas le "
              "llega a tu par como siempre.",
    },
    "peer_chosen": {
        "en": "Thank you. We'll look first for a peer who has lived through {tag}; if none "
              "is free soon, the next peer will text you. Text PEER any time to change it.",
        "es": "Gracias. Buscaremos primero a un par que haya vivido {tag}; si no hay "
              "nadie libre pronto, te escribirá el siguiente. Escribe PAR para cambiarlo.",
    },
    "peer_skipped": {
        "en": "Thank you. The next free peer will text you. Text PEER any time if you'd "
              "like to choose.",
        "es": "Gracias. Te escribirá el próximo par libre. Escribe PAR cuando quieras "
              "elegir.",
    },
    "peer_no_tags": {
        "en": "Every peer here is trained to listen; the next free one will text you.",
        "es": "Cada par aquí sabe escuchar; te escribirá el próximo que esté libre.",
    },
    "same_peer": {
        "en": "We'll ask the peer you talked with last time first, if they're on shift and "
              "free; if not, the next free peer will text you here.",
        "es": "Le preguntaremos primero al par con quien hablaste la última vez, si está "
              "de turno y libre; si no, te escribirá aquí el próximo par libre.",
    },
    "same_none": {
        "en": "We'll connect you with the next free peer; they will text you here.",
        "es": "Te conectaremos con el próximo par libre; te escribirá aquí.",
    },
    "feedback_question": {
        "en": "One optional question: how much did this conversation help, from 1 (not at "
              "all) to 5 (a lot)? Reply with one number; a word after it is welcome.",
        "es": "Una pregunta opcional: ¿cuánto te ayudó esta conversación, de 1 (nada) a 5 "
              "(mucho)? Responde con un número; puedes añadir una palabra.",
    },
    "group_feedback_question": {
        "en": "Thank you for joining {topic} today. One optional question: how much did "
              "the group help, from 1 (not at all) to 5 (a lot)? Reply with one number; a "
              "word after it is welcome.",
        "es": "Gracias por participar hoy en {topic}. Una pregunta opcional: ¿cuánto te "
              "ayudó el grupo, de 1 (nada) a 5 (mucho)? Responde con un número; puedes "
              "añadir una palabra.",
    },
    "feedback_thanks": {
        "en": "Thank you for telling us. Text this number any time to talk again.",
        "es": "Gracias por decírnoslo. Escribe a este número cuando quieras volver a hablar.",
    },
    "volunteer_ask_name": {
        "en": "Thank you for wanting to support others as a peer volunteer! Three short "
              "questions; only our coordinators see the answers. First: what name should "
              "we call you?",
        "es": "¡Gracias por querer apoyar a otras personas como voluntario/a! Tres "
              "preguntas cortas; solo las ve el equipo de coordinación. Primero: ¿cómo "
              "te llamamos?",
    },
    "volunteer_ask_languages": {
        "en": "Thanks. Which languages can you text in (for example English, Spanish)?",
        "es": "Gracias. ¿En qué idiomas puedes escribir (por ejemplo inglés, español)?",
    },
    "volunteer_ask_availability": {
        "en": "And when could you usually volunteer (days and times)?",
        "es": "¿Y cuándo podrías ser voluntario/a normalmente (días y horas)?",
    },
    "volunteer_submitted": {
        "en": "Thank you! A coordinator will look at your application and text you here.",
        "es": "¡Gracias! Alguien del equipo de coordinación revisará tu solicitud y te "
              "escribirá aquí.",
    },
    "volunteer_pending": {
        "en": "We already have your application; a coordinator will text you here.",
        "es": "Ya tenemos tu solicitud; alguien del equipo te escribirá aquí.",
    },
    "volunteer_later": {
        "en": "You can apply to volunteer after this conversation: text VOLUNTEER then.",
        "es": "Puedes pedir ser voluntario/a después de esta conversación: escribe "
              "VOLUNTARIO entonces.",
    },
    "volunteer_approved": {
        "en": "Confirmed: you're a peer volunteer now. Text ON here when you're ready for "
              "a shift, HELP for the commands.",
        "es": "Confirmado: ya eres voluntario/a. Escribe ON aquí cuando estés listo/a para "
              "un turno, HELP para ver los comandos.",
    },
    "volunteer_confirm": {
        "en": "Good news: your application to be a peer volunteer was approved. To finish, "
              "reply VOLUNTEER {code} from this phone within {hours} hours (it shows this "
              "phone is yours).",
        "es": "Buenas noticias: aprobamos tu solicitud de voluntariado. Para terminar, "
              "responde VOLUNTARIO {code} desde este teléfono en {hours} horas (así sabemos "
              "que el teléfono es tuyo).",
    },
    "volunteer_confirm_waiting": {
        "en": "Your application was approved: reply VOLUNTEER and the 4-digit code we "
              "texted you to finish.",
        "es": "Aprobamos tu solicitud: responde VOLUNTARIO y el código de 4 cifras que te "
              "enviamos para terminar.",
    },
    "volunteer_confirm_wrong": {
        "en": "That code isn't right. Reply VOLUNTEER and the 4-digit code from our text.",
        "es": "Ese código no es correcto. Responde VOLUNTARIO y el código de 4 cifras de "
              "nuestro mensaje.",
    },
    "volunteer_confirm_locked": {
        "en": "Too many wrong codes. A coordinator will need to approve your application "
              "again; we'll text you a new code.",
        "es": "Demasiados códigos incorrectos. Alguien del equipo tendrá que aprobar tu "
              "solicitud otra vez; te enviaremos un código nuevo.",
    },
    "volunteer_confirm_expired": {
        "en": "That code has expired. A coordinator can approve your application again; "
              "we'll text you a new code.",
        "es": "Ese código venció. Alguien del equipo puede aprobar tu solicitud otra vez; "
              "te enviaremos un código nuevo.",
    },
    "volunteer_confirm_later": {
        "en": "You can confirm after this conversation: reply VOLUNTEER and the code then.",
        "es": "Puedes confirmarlo después de esta conversación: responde VOLUNTARIO y el "
              "código entonces.",
    },
    "volunteer_declined": {
        "en": "Thank you for applying to be a peer volunteer. We can't take you on right "
              "now; thank you for wanting to help.",
        "es": "Gracias por pedir ser voluntario/a. Ahora mismo no podemos incorporarte; "
              "gracias por querer ayudar.",
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
    "offer": "Offer: someone is waiting ({lang}, {minutes} min{crisis}){why}. \"{preview}\" "
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
            "BACK ends the break; TALK reaches the on-call coordinator; to an offer YES or "
            "PASS. Shifts: SHIFTS, OK or CANT to a reminder, OPEN, TAKE n, SWAP n. In a "
            "conversation: #END, #CRISIS, #HELP; anything else is passed on.",
    "unknown": "Sorry, I didn't get that. Commands: ON, OFF, STATUS, YES, PASS, BREAK, BACK, "
               "SHIFTS, OPEN, HELP.",
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
    # --- peer support (issue 15) ---
    "offer_matched": "; matched on: {tag}",
    "offer_same": "; they asked for the same peer as last time",
}

#: The shift schedule by text (peerline/scheduling): reminders, OK/CANT, SHIFTS, OPEN,
#: TAKE n, SWAP n, and the schedule's automatic start and end. Times are the line's
#: local time; ``{when}`` reads like ``Tue Dec 8 09:00-12:00``.
SCHEDULE_TEXTS: dict[str, str] = {
    "reminder": "Reminder: your shift #{sid} is {when}. Reply OK to confirm or CANT if you "
                "can't make it.",
    "confirmed": "Thanks, shift #{sid} ({when}) is confirmed.",
    "cant_confirm": "To give up shift #{sid} ({when}), reply YES CANT {sid} {code} within "
                    "15 min. Not you? Ignore this; nothing changes.",
    "given_up": "Thanks for letting us know. Shift #{sid} ({when}) is offered to other "
                "peers and the coordinator is told. Take care. Not you? Tell the "
                "coordinator.",
    "nothing_to_answer": "There's no shift reminder waiting for an answer. SHIFTS lists your "
                         "next shifts.",
    "shifts": "Your next shifts: {items}. SWAP n offers shift n to others.",
    "shifts_none": "You have no shifts in the next {days} days. OPEN lists shifts others "
                   "gave up.",
    "open": "Open shifts: {items}. Reply TAKE n to take one.",
    "open_none": "No open shifts right now. Thank you for asking.",
    "offer_open": "Open shift #{sid}: {when}. Reply TAKE {sid} to take it (first come).",
    "taken": "It's yours: shift #{sid} ({when}). Thank you!",
    "taken_already": "Sorry, shift #{sid} is no longer open (someone took it, or it started).",
    "take_unknown": "There's no open shift #{sid}. OPEN lists the open shifts.",
    "take_busy": "You already have a shift then, so #{sid} can't be yours too.",
    "take_limit": "Taking shift #{sid} would put you over {hours:g} hours that week. Thank "
                  "you all the same.",
    "take_own": "Shift #{sid} is already yours.",
    "your_shift_taken": "Another peer took your shift #{sid} ({when}); it's no longer yours. "
                        "Thank you.",
    "swap_confirm": "To offer shift #{sid} ({when}) to other peers, reply YES SWAP {sid} "
                    "{code} within 15 min. Not you? Ignore this; nothing changes.",
    "swap_offered": "Shift #{sid} ({when}) is offered to other peers. It stays yours until "
                    "someone takes it. Not you? Tell the coordinator.",
    "confirm_wrong": "That code doesn't match or is too old, so nothing changed. Text "
                     "{word} {sid} for a new one.",
    "confirm_locked": "Too many wrong codes, so nothing changed and giving shifts away by "
                      "text is paused for a while. Please ask the coordinator.",
    "swap_unknown": "You have no upcoming shift #{sid}. SHIFTS lists yours.",
    "swap_already": "Shift #{sid} is already offered to others.",
    "bad_number": "Please add the shift's number, for example {word} 12.",
    "started": "Your scheduled shift has started: you're on shift. Offers will arrive here; "
               "text OFF to end it.",
    "ended": "Your scheduled shift has ended: you're off shift. Thank you!",
    "ended_holding": "Your scheduled shift has ended: no new offers. Your {n} live "
                     "conversation(s) go on; finish with #END, or text OFF to hand them over.",
}

#: What the on-call coordinator hears about the schedule.
SCHEDULE_ONCALL_TEXTS: dict[str, str] = {
    "cant": "peerline: {name} can't make shift #{sid} ({when}); it is offered to other "
            "peers.",
    "unconfirmed": "peerline: {name} has not confirmed shift #{sid} ({when}); it is offered "
                   "to other peers.",
    "taken": "peerline: {name} took shift #{sid} ({when}).",
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
    "application_code_locked": "peerline: the approval of new volunteer #{vid} ({name}) "
                               "was sent back after repeated wrong VOLUNTEER codes texted "
                               "from their number (locked {minutes} min). If it wasn't "
                               "them, someone may be faking their number.",
    "group_pin_locked": "peerline: group PINs keyed from one calling number (call #{cid}) "
                        "are paused for {minutes} min after repeated wrong session PINs: "
                        "someone may be guessing PINs, or faking a survivor's caller ID. "
                        "The sign-up made from that number can still join with its own "
                        "PIN.",
    "group_seat_kept": "peerline: a group seat was not taken over (call #{cid}): its "
                       "session PIN was keyed on a new call showing the seat's number "
                       "while the seated call was still live. Someone may be faking a "
                       "survivor's caller ID with her PIN; she kept her seat.",
    "code_locked": "peerline: shift codes (YES CANT/SWAP) of volunteer #{vid} ({name}) are "
                   "locked for {minutes} min after repeated wrong codes texted from their "
                   "number (their voice access is not affected). If it wasn't them, "
                   "someone may be faking their number. A new PIN (roster set-pin) lifts "
                   "the lock.",
}


def say(key: str, lang: str, **values: Any) -> str:
    """The survivor-facing text ``key`` in ``lang`` (English when unknown)."""
    table = TEXTS[key]
    return table.get(lang, table["en"]).format(**values).strip()

# Wellbeing (issue 13): the volunteer's check-in after a crisis conversation, TALK, and
# the on-call coordinator's alert (which names the volunteer, never a survivor detail).
WELLBEING_TEXTS: dict[str, str] = {
    "checkin": "That was a hard conversation. How are you doing? No new offers for {minutes} "
               "min, so take a breath. Reply TALK to reach the on-call coordinator.",
    "checkin_no_cooldown": "That was a hard conversation. How are you doing? Reply TALK to "
                           "reach the on-call coordinator.",
    "checkin_no_oncall": "That was a hard conversation. How are you doing? No new offers for "
                         "{minutes} min, so take a breath. (No on-call coordinator is set up "
                         "for this line, so TALK can't reach anyone now.)",
    "talk_sent": "Thank you for saying so. The on-call coordinator has been asked to reach "
                 "you soon. Take care of yourself meanwhile.",
    "talk_already": "The on-call coordinator was asked a few minutes ago and will reach you. "
                    "Take care of yourself meanwhile.",
    "talk_no_oncall": "No on-call coordinator is set up for this line, so TALK can't reach "
                      "anyone right now. Please reach out to your coordinator directly.",
    "oncall_talk": "peerline: volunteer {name} (#{vid}) texted TALK and would like to talk "
                   "with a coordinator. Please reach out to them (the roster has their "
                   "number).",
    "cooling": " (cooling down after a crisis, {minutes} min left)",
    "capped": " (wellbeing cap reached: {shift} this shift, {week} in 7 days; crisis offers "
              "only)",
}

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
