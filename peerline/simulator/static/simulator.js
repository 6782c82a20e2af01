/* peerline phone simulator: open phones, text the line, watch every reply arrive.
 * Plain JS, no dependencies. Talks to the simulator API next to this page:
 *   POST api/inbox {phones: [...]}  -> roster + each phone's threads (polled every 1.5 s)
 *   POST api/send  {from, to, body, media} -> runs the real /sms/inbound webhook
 */
(function () {
  "use strict";

  var POLL_MS = 1500;
  var API = window.location.pathname.replace(/\/+$/, "") + "/api";
  var SURVIVOR_COMMANDS = ["HELP", "RESOURCES", "PEER", "SAME", "VOLUNTEER", "#END", "STOP", "START"];
  var VOLUNTEER_COMMANDS = ["ON", "OFF", "STATUS", "YES", "PASS", "BREAK 15", "BACK", "TALK", "SHIFTS", "OK",
                            "CANT", "OPEN", "#END", "#CRISIS", "HELP"];
  var ONCALL_COMMANDS = ["STATUS", "HELP"];
  var ACK_SHOWN = 3;  // the coordinator's newest escalations offered as "ACK n" buttons
  var SVG_NS = "http://www.w3.org/2000/svg";
  var SURVIVOR_SAMPLES = ["Hi, is anyone there?", "I had a really rough night"];
  var STORE_OPEN = "peerline.simulator.open";
  var STORE_CUSTOM = "peerline.simulator.custom";

  var state = JSON.parse(document.getElementById("sim-state").textContent);
  var phonesEl = document.getElementById("phones");
  var template = document.getElementById("phone-template");
  var placeholder = document.getElementById("placeholder");
  var liveEl = document.getElementById("live");
  var cards = {};        // number -> {el, selected, pinned, seen, sig, role, data}
  var polling = false;

  function load(key, fallback) {
    try {
      var value = JSON.parse(window.localStorage.getItem(key));
      return Array.isArray(value) ? value : fallback;
    } catch (e) { return fallback; }
  }
  function save(key, value) {
    try { window.localStorage.setItem(key, JSON.stringify(value)); } catch (e) { /* private mode */ }
  }

  var custom = load(STORE_CUSTOM, []);
  var defaultOpen = [state.survivors[0]].concat(
    state.volunteers.slice(0, 2).map(function (v) { return v.number; }),
    state.oncall ? [state.oncall] : []);
  var openPhones = load(STORE_OPEN, defaultOpen);

  function lineLabel(number) {
    var i = state.lines.indexOf(number);
    return i >= 0 ? "Line " + (i + 1) : "Other number";
  }
  function volunteerFor(number) {
    for (var i = 0; i < state.volunteers.length; i++) {
      if (state.volunteers[i].number === number) { return state.volunteers[i]; }
    }
    return null;
  }
  function roleOf(number) {
    if (volunteerFor(number)) { return "volunteer"; }
    if (state.oncall && number === state.oncall) { return "oncall"; }
    return "survivor";
  }
  function nameOf(number) {
    var v = volunteerFor(number);
    if (v) { return v.name; }
    if (state.oncall && number === state.oncall) { return "On-call coordinator"; }
    var i = state.survivors.indexOf(number);
    return i >= 0 ? "Survivor " + (i + 1) : "Survivor (custom)";
  }
  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text !== undefined) { node.textContent = text; }
    return node;
  }
  function timeOf(iso) {
    var d = new Date(iso);
    if (isNaN(d.getTime())) { return ""; }
    return d.toLocaleTimeString([], {hour: "2-digit", minute: "2-digit", second: "2-digit"});
  }

  /* ---- sidebar ------------------------------------------------------------------- */

  function renderCustom() {
    var list = document.getElementById("survivor-list");
    Array.prototype.forEach.call(list.querySelectorAll("li.custom"), function (li) { li.remove(); });
    custom.forEach(function (number) {
      if (state.survivors.indexOf(number) >= 0 || volunteerFor(number)) { return; }
      var li = el("li", "custom");
      var button = el("button", "phone-pick");
      button.type = "button";
      button.dataset.phone = number;
      button.appendChild(el("span", "avatar survivor", "S"));
      var who = el("span", "who");
      who.appendChild(el("span", "label", "Survivor (custom)"));
      who.appendChild(el("span", "num", number));
      button.appendChild(who);
      li.appendChild(button);
      list.appendChild(li);
    });
  }

  function renderVolunteers() {
    var list = document.getElementById("volunteer-list");
    list.textContent = "";
    if (!state.volunteers.length) {
      list.appendChild(el("li", "empty", "Nobody on the roster yet: flask --app wsgi roster add …"));
      return;
    }
    state.volunteers.forEach(function (v) {
      var li = el("li");
      var button = el("button", "phone-pick" + (v.active ? "" : " inactive"));
      button.type = "button";
      button.dataset.phone = v.number;
      button.appendChild(el("span", "avatar volunteer", v.name.slice(0, 1)));
      var who = el("span", "who");
      who.appendChild(el("span", "label", v.name));
      who.appendChild(el("span", "num", v.number));
      button.appendChild(who);
      button.title = v.name + " · speaks " + v.languages.join(", ") + " · " + v.live + " of " +
        v.capacity + " conversations";
      var shift = v.active ? (v.on_shift ? "on shift" : "off shift") : "inactive";
      if (v.on_shift && v.live) { shift += " · " + v.live + "/" + v.capacity; }
      button.appendChild(el("span", "shift " + (v.on_shift && v.active ? "on" : "off"), shift));
      li.appendChild(button);
      list.appendChild(li);
    });
  }

  function markOpen() {
    Array.prototype.forEach.call(document.querySelectorAll(".phone-pick"), function (b) {
      b.classList.toggle("open", openPhones.indexOf(b.dataset.phone) >= 0);
    });
    placeholder.hidden = openPhones.length > 0;
  }

  document.querySelector(".sidebar").addEventListener("click", function (event) {
    var button = event.target.closest(".phone-pick");
    if (!button) { return; }
    var number = button.dataset.phone;
    if (openPhones.indexOf(number) >= 0) {
      cards[number].el.scrollIntoView({behavior: "smooth", inline: "nearest", block: "nearest"});
      cards[number].el.classList.add("flash");
      setTimeout(function () { cards[number].el.classList.remove("flash"); }, 600);
      return;
    }
    openPhone(number);
  });

  document.getElementById("add-phone").addEventListener("submit", function (event) {
    event.preventDefault();
    var input = document.getElementById("add-phone-input");
    var raw = input.value.trim();
    if (!raw) { return; }
    api("inbox", {phones: [raw]}).then(function (answer) {
      var number = answer.phones[0].number;
      if (custom.indexOf(number) < 0 && state.survivors.indexOf(number) < 0 && !volunteerFor(number)) {
        custom.push(number);
        save(STORE_CUSTOM, custom);
      }
      input.value = "";
      input.classList.remove("invalid");
      renderCustom();
      if (openPhones.indexOf(number) < 0) { openPhone(number); } else { markOpen(); }
    }).catch(function (err) {
      input.classList.add("invalid");
      input.title = err.message;
    });
  });

  /* ---- phones -------------------------------------------------------------------- */

  function openPhone(number) {
    if (openPhones.indexOf(number) < 0) { openPhones.push(number); }
    if (openPhones.length > 12) { closePhone(openPhones[0]); }
    save(STORE_OPEN, openPhones);
    buildCard(number);
    markOpen();
    refresh();
  }

  function closePhone(number) {
    openPhones = openPhones.filter(function (n) { return n !== number; });
    save(STORE_OPEN, openPhones);
    if (cards[number]) { cards[number].el.remove(); delete cards[number]; }
    markOpen();
  }

  function buildCard(number) {
    if (cards[number]) { return cards[number]; }
    var node = template.content.firstElementChild.cloneNode(true);
    var role = roleOf(number);
    var card = {el: node, number: number, selected: null, pinned: false, seen: null,
                sig: "", role: role, data: null};
    node.dataset.phone = number;
    node.classList.add(role);
    var avatar = node.querySelector(".avatar");
    avatar.classList.add(role);
    avatar.textContent = role === "volunteer" ? nameOf(number).slice(0, 1) : role === "oncall" ? "C" : "S";
    node.querySelector(".phone-head .label").textContent = nameOf(number);
    node.querySelector(".phone-head .num").textContent = number;
    node.querySelector(".close").addEventListener("click", function () { closePhone(number); });

    var select = node.querySelector(".to");
    state.lines.forEach(function (line) {
      var option = el("option", null, lineLabel(line) + " · " + line);
      option.value = line;
      select.appendChild(option);
    });
    select.addEventListener("change", function () {
      selectThread(card, select.value);
    });

    var quick = node.querySelector(".quick");
    var words = role === "volunteer" ? VOLUNTEER_COMMANDS : role === "survivor"
      ? SURVIVOR_SAMPLES.concat(SURVIVOR_COMMANDS) : ONCALL_COMMANDS;
    words.forEach(function (word) { quick.appendChild(chip(card, word)); });
    if (role === "oncall") { quick.appendChild(el("span", "acks")); }

    var form = node.querySelector(".compose");
    var textarea = node.querySelector(".body");
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      send(card, textarea.value);
    });
    textarea.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !event.shiftKey) {
        event.preventDefault();
        send(card, textarea.value);
      }
    });
    node.querySelector(".mms-toggle").addEventListener("change", function (event) {
      node.classList.toggle("mms-on", event.target.checked);
      textarea.placeholder = event.target.checked ? "MMS caption (optional)" : "Text message";
    });

    phonesEl.appendChild(node);
    cards[number] = card;
    renderCard(card);
    return card;
  }

  function chip(card, word) {
    var b = el("button", "chip" + (/^[#A-Z]/.test(word) && word === word.toUpperCase()
      ? " cmd" : " sample"), word);
    b.type = "button";
    b.title = "Send \u201c" + word + "\u201d";
    b.addEventListener("click", function () { send(card, word); });
    return b;
  }

  /* The coordinator's "ACK n" buttons: the newest escalations its alerts named. */
  function renderAcks(card) {
    var box = card.el.querySelector(".acks");
    if (!box) { return; }
    var seen = [];
    threadsOf(card).forEach(function (t) {
      t.items.forEach(function (item) {
        var m = item.direction === "in" && /\bACK (\d+)\b/.exec(item.body);
        if (m && seen.indexOf(m[1]) < 0) { seen.push(m[1]); }
      });
    });
    seen.sort(function (a, b) { return Number(b) - Number(a); });
    box.textContent = "";
    seen.slice(0, ACK_SHOWN).forEach(function (n) { box.appendChild(chip(card, "ACK " + n)); });
  }

  function selectThread(card, line) {
    card.selected = line;
    card.pinned = true;
    card.el.querySelector(".to").value = line;
    renderCard(card, true);
  }

  function threadsOf(card) {
    return card.data ? card.data.threads : [];
  }
  function incoming(thread) {
    return thread.items.filter(function (i) { return i.direction === "in"; }).length;
  }

  function renderCard(card, forceBottom) {
    var threads = threadsOf(card);
    if (!card.pinned) {
      card.selected = threads.length ? threads[0].line : (card.selected || state.lines[0]);
      card.el.querySelector(".to").value = card.selected;
    }
    if (card.seen === null && card.data) {
      card.seen = {};
      threads.forEach(function (t) { card.seen[t.line] = incoming(t); });
    }
    var seen = card.seen || {};

    // Tabs: every thread (most recent first), plus the compose target if it is new.
    var nav = card.el.querySelector(".threads");
    nav.textContent = "";
    var lines = threads.map(function (t) { return t.line; });
    if (card.selected && lines.indexOf(card.selected) < 0) { lines.push(card.selected); }
    lines.forEach(function (line) {
      var thread = threads.filter(function (t) { return t.line === line; })[0];
      var tab = el("button", "tab" + (line === card.selected ? " active" : ""));
      tab.type = "button";
      tab.dataset.line = line;
      tab.appendChild(el("span", "tab-label", lineLabel(line)));
      tab.appendChild(el("span", "tab-num", line.slice(-4)));
      var unread = thread ? incoming(thread) - (seen[line] || 0) : 0;
      if (line !== card.selected && unread > 0) { tab.appendChild(el("span", "badge", String(unread))); }
      tab.title = line;
      tab.addEventListener("click", function () { selectThread(card, line); });
      nav.appendChild(tab);
    });

    // Messages of the selected thread.
    var box = card.el.querySelector(".messages");
    var atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 48;
    box.textContent = "";
    var current = threads.filter(function (t) { return t.line === card.selected; })[0];
    if (current) { seen[current.line] = incoming(current); }
    if (!current || !current.items.length) {
      var empty = el("div", "empty-thread");
      empty.appendChild(el("div", "", "No messages with " + lineLabel(card.selected) + " yet."));
      empty.appendChild(el("div", "hint", card.role === "volunteer"
        ? "Text ON to start a shift." : "Say hi to the line."));
      box.appendChild(empty);
    } else {
      current.items.forEach(function (item) { box.appendChild(bubble(item)); });
    }
    if (atBottom || forceBottom) { box.scrollTop = box.scrollHeight; }
    renderAcks(card);
  }

  /* A warning sign drawn inline (no emoji font needed). */
  function warningIcon() {
    var svg = document.createElementNS(SVG_NS, "svg");
    svg.setAttribute("viewBox", "0 0 16 16");
    svg.setAttribute("class", "icon");
    svg.setAttribute("aria-hidden", "true");
    var path = document.createElementNS(SVG_NS, "path");
    path.setAttribute("d", "M8 1.5 15.2 14H.8L8 1.5Zm-.9 4.5v4.2h1.8V6H7.1Zm0 5.3v1.8h1.8v-1.8H7.1Z");
    path.setAttribute("fill", "currentColor");
    path.setAttribute("fill-rule", "evenodd");
    svg.appendChild(path);
    return svg;
  }

  function bubble(item) {
    var crisis = item.kind === "crisis";
    var wrap = el("div", "msg " + item.direction + " src-" + item.source + (crisis ? " crisis" : ""));
    var b = el("div", "bubble");
    if (crisis) {  // a marker in words and shape, not colour alone
      var flag = el("div", "crisis-flag");
      flag.appendChild(warningIcon());
      flag.appendChild(el("span", "", "Crisis alert"));
      b.appendChild(flag);
    }
    if (item.media) { b.appendChild(el("div", "media", "Photo (MMS)")); }
    if (item.body) { b.appendChild(el("div", "text", item.body)); }
    if (item.source === "call") {
      var link = document.getElementById("call-link");
      var a = el("a", "call", "Open the call simulator");
      a.href = link ? link.href : "#";
      b.appendChild(a);
    }
    wrap.appendChild(b);
    var how = {sent: item.kind === "optout" ? "sent · opt-out" : "sent",
               reply: "instant reply", delivered: crisis ? "delivered · crisis alert" : "delivered",
               call: "call"}[item.source] || "";
    wrap.appendChild(el("div", "meta", timeOf(item.at) + (how ? " · " + how : "")));
    return wrap;
  }

  /* ---- talking to the server ------------------------------------------------------ */

  function api(path, payload) {
    return fetch(API + "/" + path, {
      method: "POST",
      headers: {"Content-Type": "application/json", "Accept": "application/json"},
      body: JSON.stringify(payload),
      credentials: "same-origin",
      cache: "no-store"
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (!response.ok) {
          var message = data.error || ("HTTP " + response.status);
          if (data.detail) { message += ": " + data.detail; }
          throw new Error(message);
        }
        return data;
      });
    });
  }

  function send(card, text) {
    var media = card.el.querySelector(".mms-toggle").checked;
    var textarea = card.el.querySelector(".body");
    var errorEl = card.el.querySelector(".error");
    var button = card.el.querySelector(".send");
    if (!text.trim() && !media) { textarea.focus(); return; }
    var to = card.el.querySelector(".to").value;
    button.disabled = true;
    errorEl.textContent = "";
    api("send", {from: card.number, to: to, body: text, media: media}).then(function () {
      if (textarea.value === text) { textarea.value = ""; }
      card.selected = to;
      card.pinned = true;
      return refresh(true);
    }).then(function () {
      renderCard(card, true);
    }).catch(function (err) {
      errorEl.textContent = err.message;
    }).then(function () {
      button.disabled = false;
    });
  }

  function refresh(force) {
    if (polling && !force) { return Promise.resolve(); }
    polling = true;
    return api("inbox", {phones: openPhones}).then(function (answer) {
      state.lines = answer.lines;
      state.oncall = answer.oncall;
      var rosterSig = JSON.stringify(answer.volunteers);
      if (rosterSig !== state.rosterSig) {
        state.volunteers = answer.volunteers;
        state.rosterSig = rosterSig;
        renderVolunteers();
        renderCustom();
        markOpen();
      }
      answer.phones.forEach(function (phone) {
        var card = cards[phone.number];
        if (!card) { return; }
        var sig = JSON.stringify(phone.threads);
        card.data = phone;
        if (sig !== card.sig) {
          card.sig = sig;
          renderCard(card);
        }
      });
      liveEl.classList.remove("down");
      liveEl.lastChild.textContent = " live";
    }).catch(function () {
      liveEl.classList.add("down");
      liveEl.lastChild.textContent = " reconnecting…";
    }).then(function () {
      polling = false;
    });
  }

  /* ---- start ---------------------------------------------------------------------- */

  state.rosterSig = JSON.stringify(state.volunteers);
  renderVolunteers();
  renderCustom();
  openPhones = openPhones.filter(function (n) {
    return state.survivors.indexOf(n) >= 0 || custom.indexOf(n) >= 0 || !!volunteerFor(n) ||
      n === state.oncall;
  });
  if (!openPhones.length) { openPhones = defaultOpen.filter(Boolean); }
  openPhones.forEach(buildCard);
  markOpen();
  refresh();
  setInterval(refresh, POLL_MS);
})();
