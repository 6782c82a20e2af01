"""Every word the voice line says, in English and Spanish (volunteers hear English)."""

from __future__ import annotations

from typing import Any

#: Twilio ``<Say>``/``<Gather>`` languages per line language.
SPEECH_LANG = {"en": "en-US", "es": "es-MX"}

SPOKEN: dict[str, dict[str, str]] = {
    "menu": {
        "en": "Hi, you've reached the peer support line. For English, press 1. If you are "
              "in danger right now, press 9 or say hotline, and we'll connect you to the "
              "988 crisis line.",
        "es": "Para español, marca 2. Si estás en peligro ahora, marca 9 o di ayuda, y te "
              "conectamos con la línea de crisis 988.",
    },
    "menu_again": {
        "en": "Sorry, I didn't catch that. For English, press 1. For the 988 crisis line, "
              "press 9.",
        "es": "Para español, marca 2. Para la línea de crisis 988, marca 9.",
    },
    "queue_intro": {
        "en": "Thank you. We're finding a peer volunteer for you now. Please stay on the line.",
        "es": "Gracias. Estamos buscando a una persona voluntaria para ti. Por favor, no "
              "cuelgues.",
    },
    "hold": {
        "en": "You are number {position} in line. A peer will be with you as soon as one "
              "is free. If you are in danger, press 9 or say hotline for the 988 crisis line.",
        "es": "Eres la persona número {position} en la fila. Una persona voluntaria te "
              "atenderá en cuanto esté libre. Si estás en peligro, marca 9 o di ayuda para "
              "la línea de crisis 988.",
    },
    "hold_peer_question": {
        "en": "While you wait, one optional question: would you like a peer who has lived "
              "through something similar? {options}. Or press 0 for no preference. You "
              "don't have to answer.",
        "es": "Mientras esperas, una pregunta opcional: ¿te gustaría hablar con un par que "
              "haya vivido algo parecido? {options}. O marca 0 si no tienes preferencia. "
              "No tienes que responder.",
    },
    "hold_peer_option": {"en": "press {n} for {name}", "es": "marca {n} para {name}"},
    "hold_peer_chosen": {
        "en": "Thank you. We've noted that you'd like a peer with experience of {tag}; it's "
              "kept for next time, and you can text PEER to change it.",
        "es": "Gracias. Anotamos que te gustaría un par con experiencia en {tag}; lo "
              "guardamos para la próxima vez, y puedes escribir PAR para cambiarlo.",
    },
    "hold_peer_skipped": {
        "en": "Thank you, noted. You can text PEER any time to choose.",
        "es": "Gracias, anotado. Puedes escribir PAR cuando quieras para elegir.",
    },
    "crisis_offer": {
        "en": "It sounds like you may be in danger. You matter, and help is there right "
              "now. Press 9, or just stay on the line, and we'll connect you to the 988 "
              "crisis line. To keep waiting for a peer instead, press 1.",
        "es": "Parece que podrías estar en peligro. Tú importas, y hay ayuda ahora mismo. "
              "Marca 9, o quédate en la línea, y te conectamos con la línea de crisis 988. "
              "Para seguir esperando a una persona voluntaria, marca 1.",
    },
    "hotline_connecting": {
        "en": "Connecting you to the 988 crisis line now. Please stay on the line.",
        "es": "Te estamos conectando con la línea de crisis 988. Por favor, no cuelgues.",
    },
    "hotline_failed": {
        "en": "We couldn't reach the crisis line just now. Please hang up and dial 988 "
              "directly. Or stay on the line to wait for a peer.",
        "es": "No pudimos comunicarnos con la línea de crisis. Cuelga y marca 988 "
              "directamente, o quédate en la línea para esperar a una persona voluntaria.",
    },
    "hotline_done": {
        "en": "Thank you for calling. You can call or text this number any time. Take care.",
        "es": "Gracias por llamar. Puedes llamar o escribir a este número cuando quieras. "
              "Cuídate.",
    },
    "nobody_on_shift": {
        "en": "No peer volunteer is on shift right now. {hours}",
        "es": "Ahora mismo no hay voluntarios de turno. {hours}",
    },
    "voicemail": {
        "en": "No peer is free to answer right now, and we don't want to keep you waiting. "
              "Please leave a message after the tone, then press pound or hang up. A peer "
              "will call you back from this line, and we'll text you from this number so "
              "you can keep talking by text. If you are in danger, call or text 988.",
        "es": "Ninguna persona voluntaria puede contestar ahora, y no queremos hacerte "
              "esperar. Deja un mensaje después del tono y marca numeral o cuelga. Una "
              "persona voluntaria te devolverá la llamada desde esta línea, y te enviaremos "
              "un mensaje de texto desde este número para seguir hablando por texto. Si "
              "estás en peligro, llama o escribe al 988.",
    },
    "voicemail_withheld": {
        "en": "No peer is free to answer right now. Your number is hidden, so we can't "
              "call or text you back, but you're welcome to leave a message after the "
              "tone, to text this number, or to call again later. If you are in danger, "
              "call or text 988.",
        "es": "Ninguna persona voluntaria puede contestar ahora. Tu número está oculto, así "
              "que no podemos devolverte la llamada ni escribirte, pero puedes dejar un "
              "mensaje después del tono, escribir a este número o volver a llamar más "
              "tarde. Si estás en peligro, llama o escribe al 988.",
    },
    "recorded": {
        "en": "Thank you, we got your message. A peer will call you back from this line "
              "as soon as one is free. If you are in danger, call or text 988. Take care.",
        "es": "Gracias, recibimos tu mensaje. Una persona voluntaria te devolverá la "
              "llamada desde esta línea en cuanto pueda. Si estás en peligro, llama o "
              "escribe al 988. Cuídate.",
    },
    "recorded_withheld": {
        "en": "Thank you, we got your message. If you are in danger, call or text 988. "
              "Take care.",
        "es": "Gracias, recibimos tu mensaje. Si estás en peligro, llama o escribe al 988. "
              "Cuídate.",
    },
    "no_message": {
        "en": "We didn't hear a message. You can call or text this number any time. If you "
              "are in danger, call or text 988. Take care.",
        "es": "No escuchamos ningún mensaje. Puedes llamar o escribir a este número cuando "
              "quieras. Si estás en peligro, llama o escribe al 988. Cuídate.",
    },
    "connected": {
        "en": "A peer volunteer is here now. You're connected.",
        "es": "Una persona voluntaria ya está aquí. Están conectados.",
    },
    "peer_left": {
        "en": "Your peer has ended the call. Thank you for calling. You can call or text "
              "this number any time. To talk with the 988 crisis line now, press 9.",
        "es": "Tu par terminó la llamada. Gracias por llamar. Puedes llamar o escribir a "
              "este número cuando quieras. Para hablar con la línea de crisis 988, marca 9.",
    },
    "goodbye": {
        "en": "Take care. Goodbye.",
        "es": "Cuídate. Adiós.",
    },
    "trouble": {
        "en": "Sorry, something went wrong on our side. If you are in danger, call or text "
              "988. Please call again in a moment.",
        "es": "Lo sentimos, algo falló de nuestro lado. Si estás en peligro, llama o "
              "escribe al 988. Por favor, vuelve a llamar en un momento.",
    },
}

#: The text-back after voicemail (from the line number the survivor called).
TEXT_BACK = {
    "en": "Hi, this is the peer support line. Sorry no peer was free to answer your call "
          "just now. You can text this number any time to talk with a peer by text, or "
          "call again. If you are in danger, call or text 988.",
    "es": "Hola, es la línea de apoyo entre pares. Lo sentimos, nadie pudo contestar tu "
          "llamada. Puedes escribir a este número cuando quieras para hablar por texto con "
          "una persona voluntaria, o volver a llamar. Si estás en peligro, llama o escribe "
          "al 988.",
}

VOLUNTEER_SPOKEN: dict[str, str] = {
    "whisper": "Peer line call{crisis}, in {lang}. Press 1 to take it.",
    "whisper_again": "Press 1 to take the call, or hang up to let it go.",
    "taken": "Thank you. Another peer already took this call.",
    "gone": "Thank you. The caller is no longer waiting.",
    "connecting": "You're connected. Press star at any time for options, including "
                  "bringing in the 988 crisis line.",
    "star_menu": "Press 9 to bring in the 988 crisis line; you stay on until they take "
                 "over. Press 0 to go back to the caller. Press 8 to end the call.",
    "transfer": "Calling the 988 crisis line into this call now. Stay on to introduce the "
                "caller, and hang up once they've taken over.",
    "back": "Back with the caller.",
    "caller_gone": "The caller has hung up. Thank you for being there.",
    "ended": "Call ended. Thank you for being there.",
    "hotline_no_answer": "The crisis line didn't answer. Press star, then 9, to try again.",
    "hotline_intro": "This is a warm transfer from the peer support line. Joining the call "
                     "now.",
    "hotline_gone": "This was a transfer from the peer support line, but the caller has "
                    "already disconnected. Sorry for the trouble.",
    "pin": "Peer line. Please enter your PIN, then press pound.",
    "pin_callback": "Peer line, about a voicemail to return. Please enter your PIN, then "
                    "press pound.",
    "pin_wrong": "That PIN didn't match. Please try again, then press pound.",
    "pin_failed": "That PIN didn't match, so this call ends here. If you've forgotten "
                  "your PIN, your coordinator can set a new one. Goodbye.",
    "voice_locked": "Peer line. Voice access for your phone is locked for now, after "
                    "several wrong PINs. Please contact your coordinator. You can still "
                    "text ON and OFF. Goodbye.",
    "pin_needed": "Voicemails and callbacks need your PIN, keyed at the start of the "
                  "call. If you don't have a PIN, ask a coordinator to set one for you.",
    "pin_needed_goodbye": "Voicemails and callbacks need your PIN on this call, so this "
                          "one can't go ahead. If you don't have a PIN, ask a "
                          "coordinator to set one for you. Goodbye.",
    "ivr": "Peer line. You're {shift}. {callers} callers and {texters} texters are "
           "waiting. Press 1 to go on shift, 2 to go off shift, 3 for the hours and "
           "status{voicemail}.",
    "ivr_no_pin": "Voicemails waiting: {n}. To hear and return voicemails by phone you "
                  "need your PIN, keyed at the start of the call; if you don't have one, "
                  "ask a coordinator to set it for you.",
    "ivr_short": "Press 1 to go on shift, 2 to go off shift, 3 for the hours and "
                 "status{voicemail}, or hang up when you're done.",
    "ivr_voicemail": ", 4 to return a voicemail: {n} waiting",
    "on": "You're on shift. Thank you! Calls will ring this phone, and text offers will "
          "come by text.",
    "on_again": "You're already on shift.",
    "off": "You're off shift. Thank you for your time today.",
    "off_already": "You're not on shift.",
    "off_holding": "You still have {n} live text conversations. Finish them by text with "
                   "hash END, or press 2 again to hand them over to the next peer.",
    "off_handed_over": "You're off shift. Your {n} text conversations went back to the "
                       "front of the line with their history. Thank you.",
    "status": "{hours} You're {shift}. Callers waiting: {callers}. Texters waiting: "
              "{texters}. Voicemails to return: {voicemails}.",
    "no_voicemail": "There are no voicemails waiting for a callback right now.",
    "callback_intro": "Voicemail from a caller{crisis}, in {lang}, left {minutes} minutes "
                      "ago.",
    "callback_no_recording": "The recording isn't available.",
    "callback_offer": "Press 1 to call them back now; your number stays hidden. Press 2 "
                      "to leave it for later.",
    "callback_dialing": "Calling them back now.",
    "callback_later": "OK, the voicemail stays in the list.",
    "callback_opted_out": "This person has since asked the line not to contact them, so "
                          "the line won't call them back. The voicemail is closed. "
                          "Goodbye.",
    "callback_done": "Thank you for calling them back.",
    "callback_missed": "They didn't answer. The voicemail stays in the list for another "
                       "try.",
    "goodbye": "Goodbye.",
}

#: Texted to on-shift volunteers when a caller leaves a voicemail.
VOICEMAIL_TEXT = ("A caller left a voicemail ({lang}{crisis}) and is waiting for a callback. "
                  "Call this line and press 4 to hear it and call them back; both numbers "
                  "stay hidden.")

#: Texted to the on-call coordinator when a caller leaves a voicemail.
ONCALL_VOICEMAIL = ("peerline: a caller left a voicemail (call #{cid}{crisis}); it waits for "
                    "a callback.")

LANG_NAMES = {"en": "English", "es": "Spanish"}


def spoken(key: str, lang: str, **values: Any) -> str:
    """The caller-facing words ``key`` in ``lang`` (English when unknown)."""
    table = SPOKEN[key]
    return table.get(lang, table["en"]).format(**values).strip()


def to_volunteer(key: str, **values: Any) -> str:
    """The volunteer-facing words ``key``."""
    return VOLUNTEER_SPOKEN[key].format(**values).strip()


# --- group sessions (peerline.groups) ----------------------------------------------------
GROUP_SPOKEN: dict[str, dict[str, str]] = {
    "group_menu": {
        "en": "To join a group session you signed up for, press 7.",
        "es": "Para unirte a una sesión de grupo en la que te inscribiste, marca 7.",
    },
    "group_pin": {
        "en": "Please enter your session PIN from your text, then press pound.",
        "es": "Marca tu PIN de sesión del mensaje de texto y luego la tecla numeral.",
    },
    "group_pin_wrong": {
        "en": "That PIN didn't match an open group. Please try again, then press pound.",
        "es": "Ese PIN no corresponde a un grupo abierto. Inténtalo otra vez y marca "
              "numeral.",
    },
    "group_pin_failed": {
        "en": "Sorry, that PIN didn't match, so we can't put you in a group on this call. "
              "Text GROUPS to this number to see your sign-ups and PIN, or text us any time "
              "to talk with a peer. If you are in danger, call or text 988. Goodbye.",
        "es": "Lo sentimos, ese PIN no coincide, así que no podemos unirte a un grupo en "
              "esta llamada. Escribe GROUPS a este número para ver tus inscripciones, o "
              "escríbenos para hablar con un par. Si estás en peligro, llama o escribe al "
              "988. Adiós.",
    },
    "group_welcome": {
        "en": "Welcome to {topic}. You'll hear the group in a moment. Press star at any "
              "time to ask for one-to-one help.",
        "es": "Bienvenida a {topic}. En un momento escucharás al grupo. Marca asterisco en "
              "cualquier momento para pedir ayuda individual.",
    },
    "group_full": {
        "en": "Sorry, this group is full right now. You can text this number any time to "
              "talk with a peer one-to-one, or stay on the line for the menu.",
        "es": "Lo sentimos, este grupo está lleno ahora. Puedes escribir a este número "
              "para hablar con un par, o quedarte en la línea para el menú.",
    },
    "group_locked": {
        "en": "Sorry, the facilitator has closed this group to new joiners. You can text "
              "this number any time to talk with a peer, or stay on the line for the menu.",
        "es": "Lo sentimos, la persona facilitadora cerró el grupo a nuevas personas. "
              "Puedes escribir a este número para hablar con un par, o quedarte en la "
              "línea para el menú.",
    },
    "group_late": {
        "en": "Sorry, this group has been going for a while, so it's closed to new joiners "
              "today. Text GROUPS for the next sessions, or stay on the line for the menu.",
        "es": "Lo sentimos, este grupo ya lleva un rato, así que hoy no admite nuevas "
              "personas. Escribe GROUPS para ver las próximas sesiones, o quédate en la "
              "línea para el menú.",
    },
    "group_over": {
        "en": "The group has ended. Thank you for being part of it. You can call or text "
              "this number any time. Take care.",
        "es": "El grupo ha terminado. Gracias por participar. Puedes llamar o escribir a "
              "este número cuando quieras. Cuídate.",
    },
    "group_removed": {
        "en": "The facilitator has asked you to leave the group for now. You can text "
              "this number any time to talk with a peer one-to-one. If you are in danger, "
              "call or text 988. Goodbye.",
        "es": "La persona facilitadora te pidió dejar el grupo por ahora. Puedes escribir "
              "a este número para hablar con un par. Si estás en peligro, llama o escribe "
              "al 988. Adiós.",
    },
    "group_removed_rejoin": {
        "en": "Sorry, the facilitator asked you to leave this group today, so you can't "
              "rejoin it. You can text this number any time to talk with a peer "
              "one-to-one, or stay on the line for the menu.",
        "es": "Lo sentimos, la persona facilitadora te pidió dejar este grupo hoy, así que "
              "no puedes volver a entrar. Puedes escribir a este número para hablar con un "
              "par, o quedarte en la línea para el menú.",
    },
    "group_pin_in_use": {
        "en": "Sorry, that PIN is already in use in the group right now: each PIN lets "
              "one phone in. If your call just dropped, please wait two minutes and call "
              "again from the same phone. Or stay on the line for the menu.",
        "es": "Lo sentimos, ese PIN ya está en uso en el grupo ahora mismo: cada PIN deja "
              "entrar a un teléfono. Si tu llamada se cortó, espera dos minutos y vuelve a "
              "llamar desde el mismo teléfono. O quédate en la línea para el menú.",
    },
    "group_seat_check": {
        "en": "One moment, please, while we get your place in the group ready.",
        "es": "Un momento, por favor, mientras preparamos tu lugar en el grupo.",
    },
    "group_seat_taken": {
        "en": "Your group PIN was just used to join the group again on a new call from "
              "this number, and each PIN lets one call in, so this call is leaving the "
              "group. You can text "
              "this number any time to talk with a peer one-to-one. If you are in danger, "
              "call or text 988. Goodbye.",
        "es": "Tu PIN del grupo se acaba de usar para volver a entrar en una nueva llamada "
              "desde este número, y cada PIN deja entrar a una llamada, así que esta "
              "llamada sale del grupo. Puedes "
              "escribir a este número para hablar con un par. Si estás en peligro, llama o "
              "escribe al 988. Adiós.",
    },
    "group_star": {
        "en": "Press 1 to talk one-to-one with a peer volunteer. Press 9 for the 988 crisis "
              "line. Press any other key, or wait, to go back to the group.",
        "es": "Marca 1 para hablar a solas con una persona voluntaria. Marca 9 para la "
              "línea de crisis 988. Marca otra tecla, o espera, para volver al grupo.",
    },
    "group_back": {
        "en": "Back to the group.",
        "es": "De vuelta al grupo.",
    },
}
SPOKEN.update(GROUP_SPOKEN)

VOLUNTEER_SPOKEN.update({
    "ivr_group": ", 5 to lead your group, {topic}",
    "group_lead": "You're leading {topic}. Participants join muted: {muted}. Press star "
                  "for your controls.",
    "group_controls": "Press 1 to mute everyone, 2 to unmute everyone, 3 to {lock} the "
                      "group, 4 to remove the last speaker, 9 to end the group. Any other "
                      "key, or wait, to go back.",
    "group_muted": "Muting everyone.",
    "group_unmuted": "Unmuting everyone.",
    "group_locked": "The group is locked: nobody new can join.",
    "group_unlocked": "The group is open to late joiners again.",
    "group_removed": "Removing the last speaker.",
    "group_nobody": "There's nobody to remove.",
    "group_ended": "The group has ended. Thank you for leading it. Goodbye.",
    "group_none": "You have no group open right now.",
    "group_pin_needed": "Leading a group needs your PIN, keyed at the start of the call. "
                        "If you don't have a PIN, ask a coordinator to set one for you.",
})
