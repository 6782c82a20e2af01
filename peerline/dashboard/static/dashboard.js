// The live board refreshes itself: fetch the board fragment every few seconds and swap
// it in. Without JavaScript the page still reads (and a <noscript> refresh reloads it).
(function () {
  "use strict";
  var board = document.getElementById("board");
  if (!board || !window.fetch) { return; }
  var url = board.getAttribute("data-poll");
  var every = parseInt(board.getAttribute("data-poll-ms"), 10) || 2000;
  var busy = false;

  function refresh() {
    if (busy) { return; }
    busy = true;
    fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (response) {
        if (response.redirected || response.status === 401) {
          window.location.reload();  // signed out meanwhile: the sign-in page
          return null;
        }
        return response.ok ? response.text() : null;
      })
      .then(function (html) { if (html !== null) { board.innerHTML = html; } })
      .catch(function () { /* the next tick tries again */ })
      .then(function () { busy = false; });
  }

  window.setInterval(refresh, every);
})();
