// The callback form, better with JavaScript: the slot list comes fresh
// from the API, the request goes to POST /api/v1/callbacks, and the answer
// or the errors appear in place. Without this script the form posts to
// /callback and the server answers with the same content, so nothing here
// is needed for the form to work.
(function () {
  'use strict';
  var form = document.getElementById('callback-form');
  if (!form || !window.fetch || !window.Intl) {
    return;
  }
  var i18n = JSON.parse(form.getAttribute('data-i18n'));
  var queue = form.getAttribute('data-queue');
  var tz = form.getAttribute('data-tz');
  var lang = form.getAttribute('data-lang');
  var callbackLang = form.getAttribute('data-callback-lang');
  var result = document.getElementById('result');
  var summary = document.getElementById('summary');
  var submit = document.getElementById('submit');
  var select = document.getElementById('slot');
  var asap = document.getElementById('when-asap');
  var chosen = document.getElementById('when-slot');
  var slotHint = document.getElementById('slot-hint');
  var slotCodes = ['invalid_slot', 'slot_past', 'slot_too_far', 'slot_closed', 'slot_unavailable'];

  function t(key, vars) {
    var s = i18n[key] || key;
    Object.keys(vars || {}).forEach(function (k) {
      s = s.split('{' + k + '}').join(String(vars[k]));
    });
    return s;
  }

  function el(tag, text, attrs) {
    var e = document.createElement(tag);
    if (text !== undefined) {
      e.textContent = text;
    }
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    return e;
  }

  var dayFmt = new Intl.DateTimeFormat(lang, { timeZone: tz, weekday: 'long', day: 'numeric', month: 'long' });
  var shortDayFmt = new Intl.DateTimeFormat(lang, { timeZone: tz, weekday: 'short', day: 'numeric', month: 'short' });
  var timeFmt = new Intl.DateTimeFormat(lang, { timeZone: tz, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
  var keyFmt = new Intl.DateTimeFormat('en-CA', { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit' });

  function zoneName(d) {
    var parts = new Intl.DateTimeFormat(lang, { timeZone: tz, timeZoneName: 'short' }).formatToParts(d);
    for (var i = 0; i < parts.length; i++) {
      if (parts[i].type === 'timeZoneName') {
        return parts[i].value;
      }
    }
    return tz;
  }

  // The promised window as the server words it: the times alone today,
  // with the date otherwise, and the zone.
  function windowText(from, to) {
    var today = keyFmt.format(new Date());
    var sameDay = keyFmt.format(from) === keyFmt.format(to);
    var at = function (d) {
      return (keyFmt.format(d) === today ? '' : shortDayFmt.format(d) + ', ') + timeFmt.format(d);
    };
    if (sameDay) {
      return at(from) + '–' + timeFmt.format(to) + ' ' + zoneName(to);
    }
    return at(from) + ' – ' + at(to) + ' ' + zoneName(to);
  }

  // ---- slots ----

  function rebuildSlots(slots) {
    var keep = select.value;
    while (select.firstChild) {
      select.removeChild(select.firstChild);
    }
    var group = null;
    var label = '';
    slots.forEach(function (s) {
      var start = new Date(s.start);
      var end = new Date(s.end);
      var day = dayFmt.format(start);
      if (!group || day !== label) {
        label = day;
        group = el('optgroup', undefined, { label: day });
        select.appendChild(group);
      }
      // The day is in the option too: a closed select shows the option
      // alone, without its group's label.
      var o = el('option', shortDayFmt.format(start) + ', ' + timeFmt.format(start) + '–' + timeFmt.format(end),
        { value: s.start.replace(/\.\d+/, '') });
      if (o.value === keep) {
        o.selected = true;
      }
      group.appendChild(o);
    });
    var none = slots.length === 0;
    select.disabled = none;
    chosen.disabled = none;
    if (none) {
      asap.checked = true;
      slotHint.textContent = t('form.slot.none');
    }
  }

  function loadSlots() {
    fetch('/api/v1/queues/' + encodeURIComponent(queue) + '/slots', { headers: { Accept: 'application/json' } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (v) {
        if (v && v.slots) {
          rebuildSlots(v.slots);
        }
      })
      .catch(function () { /* keep the server's list */ });
  }

  select.addEventListener('change', function () { chosen.checked = true; });

  // ---- errors ----

  function message(v, retry) {
    var code = v && v.error;
    if (slotCodes.indexOf(code) >= 0) {
      return t('err.slot');
    }
    if (code === 'country_not_allowed') {
      return t('err.country_not_allowed', { countries: i18n.countries });
    }
    if (code === 'rate_limited') {
      return t('err.rate_limited', { seconds: retry || '60' });
    }
    if (code && i18n['err.' + code]) {
      return t('err.' + code);
    }
    return t('err.internal');
  }

  function clearErrors() {
    ['number', 'when'].forEach(function (f) {
      var e = document.getElementById(f + '-error');
      e.hidden = true;
      e.textContent = '';
      var field = document.getElementById(f);
      field.removeAttribute('aria-invalid');
      (field.closest('.field') || field).classList.remove('invalid');
    });
    summary.hidden = true;
    summary.textContent = '';
  }

  function showError(v, retry) {
    var msg = message(v, retry);
    var field = v && (v.field === 'number' || v.field === 'when') ? v.field : '';
    if (field) {
      var e = document.getElementById(field + '-error');
      e.textContent = msg;
      e.hidden = false;
      var input = document.getElementById(field);
      input.setAttribute('aria-invalid', 'true');
      (input.closest('.field') || input).classList.add('invalid');
    }
    summary.textContent = '';
    summary.appendChild(el('p', i18n['form.errors'] || ''));
    var ul = el('ul');
    var li = el('li');
    if (field) {
      li.appendChild(el('a', msg, { href: '#' + field }));
    } else {
      li.textContent = msg;
    }
    ul.appendChild(li);
    summary.appendChild(ul);
    summary.hidden = false;
    summary.focus();
    if (field === 'when') {
      loadSlots();
    }
  }

  // ---- the answer ----

  function showResult(v, askedAsap) {
    result.textContent = '';
    result.appendChild(el('h2', t('result.title')));
    if (v.existing) {
      result.appendChild(el('p', t('result.existing')));
    }
    var scheduled = v.kind === 'scheduled';
    var dl = el('dl');
    if (v.position && !scheduled) {
      result.appendChild(el('p', t('result.position', { position: v.position }), { 'class': 'position' }));
      dl.appendChild(el('dt', t('result.place')));
      dl.appendChild(el('dd', String(v.position), { id: 'result-position' }));
    } else if (scheduled) {
      result.appendChild(el('p', t(askedAsap ? 'result.firstslot' : 'result.scheduled')));
    }
    dl.appendChild(el('dt', t('result.window')));
    dl.appendChild(el('dd', windowText(new Date(v.promise.window_start), new Date(v.promise.deadline)), { id: 'result-window' }));
    result.appendChild(dl);
    result.appendChild(el('p', t('result.keep')));
    var again = el('p');
    again.appendChild(el('a', t('form.another'), { href: location.pathname + location.search }));
    result.appendChild(again);
    form.hidden = true;
    var intro = document.querySelector('.intro');
    if (intro) {
      intro.hidden = true;
    }
    result.hidden = false;
    result.focus();
  }

  form.addEventListener('submit', function (ev) {
    ev.preventDefault();
    clearErrors();
    if (chosen.checked && !select.value) {
      showError({ error: 'slot_missing', field: 'when' });
      return;
    }
    var body = {
      queue: queue,
      number: document.getElementById('number').value,
      name: document.getElementById('name').value,
      reason: document.getElementById('reason').value,
      when: chosen.checked ? select.value : 'asap'
    };
    if (callbackLang) {
      body.language = callbackLang;
    }
    submit.disabled = true;
    submit.textContent = t('form.sending');
    fetch('/api/v1/callbacks', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify(body)
    })
      .then(function (r) {
        return r.json().then(function (v) {
          return { status: r.status, v: v, retry: r.headers.get('Retry-After') };
        });
      })
      .then(function (x) {
        if (x.status === 200 || x.status === 201) {
          showResult(x.v, body.when === 'asap');
        } else {
          showError(x.v, x.retry);
        }
      })
      .catch(function () { showError({ error: 'network' }); })
      .then(function () {
        submit.disabled = false;
        submit.textContent = t('form.submit');
      });
  });

  form.setAttribute('data-enhanced', 'true');
  loadSlots();
})();
