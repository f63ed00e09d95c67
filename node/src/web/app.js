// Cairn's one script (served as /app.js; the pages allow no other): the Print button of a
// certificate, and on a shared screen the return to the sign-in page after a time without
// activity. Thirty seconds before that, a warning offers more time (WCAG 2.2.1: a time limit
// the person can extend), and activity such as typing a long narrative keeps the session alive
// on the server too. Without script the server still ends idle sessions; only the screen does
// not clear itself.
(function () {
  'use strict';
  var print = document.getElementById('print');
  if (print) {
    print.addEventListener('click', function () { window.print(); });
  }
  // A file chooser shows the chosen names in the page's language (see layout::file_input).
  Array.prototype.forEach.call(document.querySelectorAll('.file input[type=file]'), function (input) {
    var chosen = document.getElementById(input.id + '-chosen');
    input.addEventListener('change', function () {
      var names = Array.prototype.map.call(input.files, function (f) { return f.name; });
      chosen.textContent = names.length ? names.join(', ') : chosen.getAttribute('data-none');
    });
  });
  var me = document.currentScript;
  var idle = Number(me && me.getAttribute('data-idle')) * 1000;
  if (!idle) {
    return;
  }
  var warning = document.getElementById('idle-warning');
  var stay = document.getElementById('stay');
  // The server last heard from this page when it was loaded.
  var heard = Date.now();
  var timers = [];
  function expire() {
    window.location.replace('/signin?expired=1');
  }
  function arm() {
    timers.forEach(clearTimeout);
    if (warning) {
      warning.hidden = true;
    }
    var left = idle - (Date.now() - heard);
    timers = [
      setTimeout(function () {
        if (warning) {
          warning.hidden = false;
          if (stay) {
            stay.focus();
          }
        }
      }, Math.max(left - 30000, left / 2)),
      setTimeout(expire, left)
    ];
  }
  function active(now) {
    // Tell the server at most every few seconds; the timers count from what it last heard.
    if (now || Date.now() - heard > Math.min(15000, idle / 8)) {
      heard = Date.now();
      fetch('/alive', {credentials: 'same-origin', cache: 'no-store'}).then(function (r) {
        if (!r.ok || r.redirected) {
          expire();
        }
      }).catch(function () {});
      arm();
    }
  }
  ['keydown', 'pointerdown', 'input', 'wheel', 'touchstart'].forEach(function (e) {
    document.addEventListener(e, function () { active(false); }, {passive: true});
  });
  if (stay) {
    stay.addEventListener('click', function () { active(true); });
  }
  arm();
})();
