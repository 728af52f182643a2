// iop-engine portal: times in the browser's time zone. The server writes UTC everywhere
// (<time datetime="...Z"> and UTC form fields); without this script the page stays in UTC.
(function () {
  "use strict";
  function pad(n, width) { n = String(n); while (n.length < (width || 2)) n = "0" + n; return n; }
  function day(d) { return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()); }
  function clock(d) { return pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds()); }

  var zone = "your time zone";
  try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || zone; } catch (e) { /* keep */ }
  document.querySelectorAll("[data-zone-name]").forEach(function (el) { el.textContent = zone; });

  // Shown times: local, with the UTC time in the tooltip.
  document.querySelectorAll("time[data-local]").forEach(function (t) {
    var d = new Date(t.getAttribute("datetime"));
    if (isNaN(d.getTime())) return;
    t.title = t.textContent + " UTC";
    t.textContent = day(d) + " " + clock(d) + "." + pad(d.getMilliseconds(), 3);
  });

  // Entered times: the field shows and takes local time; the form sends UTC (ISO, with Z)
  // in the hidden field, which takes over the field's name.
  document.querySelectorAll("input[data-utc-into]").forEach(function (shown) {
    var utc = document.getElementById(shown.getAttribute("data-utc-into"));
    if (!utc) return;
    var was = utc.value ? new Date(utc.value + "Z") : null;
    utc.value = was && !isNaN(was.getTime()) ? was.toISOString() : "";
    shown.value = utc.value ? day(was) + "T" + clock(was) : "";
    utc.name = shown.name;
    shown.removeAttribute("name");
    shown.form.addEventListener("submit", function () {
      var local = shown.value ? new Date(shown.value) : null;  // no zone: read as local time
      utc.value = local && !isNaN(local.getTime()) ? local.toISOString() : shown.value;
    });
  });
})();
