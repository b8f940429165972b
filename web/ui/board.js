// The promise board, live: the server pushes the board as Server-Sent
// Events (/board/events) on every change of the line, and this script puts
// the new figures and rows in place. The row actions are posted with fetch
// and their effect arrives with the next event. Without this script the
// board is a page to reload, and the actions are plain forms.
(function () {
  'use strict';
  var board = document.getElementById('board');
  if (!board || !window.EventSource || !window.fetch) {
    return;
  }
  var live = document.getElementById('live');
  var status = document.getElementById('status');
  var figures = document.getElementById('figures');
  var rows = document.getElementById('rows');

  function connected(on) {
    live.textContent = on ? live.getAttribute('data-live') : live.getAttribute('data-offline');
    live.className = on ? 'live on' : 'live off';
  }

  var events = new EventSource('/board/events');
  events.addEventListener('open', function () { connected(true); });
  events.addEventListener('error', function () { connected(false); });
  events.addEventListener('expired', function () {
    events.close();
    location.href = '/board/login?expired=1';
  });
  events.addEventListener('board', function (e) {
    var d = JSON.parse(e.data);
    // Replacing the rows must not lose the keyboard's place.
    var focused = document.activeElement && document.activeElement.id;
    figures.innerHTML = d.figures;
    rows.innerHTML = d.rows;
    if (focused) {
      var again = document.getElementById(focused);
      if (again) {
        again.focus();
      }
    }
    connected(true);
    board.setAttribute('data-updates', String(Number(board.getAttribute('data-updates') || 0) + 1));
  });

  rows.addEventListener('submit', function (e) {
    var f = e.target;
    e.preventDefault();
    var button = f.querySelector('button');
    if (button) {
      button.disabled = true;
    }
    fetch(f.action, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { Accept: 'application/json' },
      body: new URLSearchParams(new FormData(f))
    })
      .then(function (r) {
        return r.json().then(function (v) { return { ok: r.ok, v: v }; });
      })
      .then(function (x) {
        status.textContent = x.ok ? x.v.message : x.v.reason;
        status.className = x.ok ? 'status ok' : 'status bad';
      })
      .catch(function () {
        status.textContent = live.getAttribute('data-offline');
        status.className = 'status bad';
      })
      .then(function () {
        if (button && document.body.contains(button)) {
          button.disabled = false;
        }
      });
  });
})();
