// iop-engine portal: small progressive enhancements; every page works without them.
(function () {
  "use strict";
  var ns = document.body.getAttribute("data-namespace");

  // Selects that switch page as soon as they change (namespace, production).
  document.querySelectorAll("select[data-autosubmit]").forEach(function (sel) {
    sel.addEventListener("change", function () { sel.form.submit(); });
  });

  // Confirm destructive buttons; show that a slow action is under way.
  document.querySelectorAll("[data-confirm]").forEach(function (btn) {
    btn.addEventListener("click", function (ev) {
      if (!window.confirm(btn.getAttribute("data-confirm"))) ev.preventDefault();
    });
  });
  document.querySelectorAll("form[data-busy]").forEach(function (form) {
    form.addEventListener("submit", function (ev) {
      var btn = ev.submitter;
      if (!btn) return;
      // Keep the clicked button's name/value in the post once it is disabled.
      if (btn.name) {
        var keep = document.createElement("input");
        keep.type = "hidden"; keep.name = btn.name; keep.value = btn.value;
        form.appendChild(keep);
      }
      window.setTimeout(function () { btn.disabled = true; btn.textContent = "Working…"; }, 0);
    });
  });

  // "Select all" boxes in the message viewer.
  document.querySelectorAll("input[data-select-all]").forEach(function (all) {
    all.addEventListener("change", function () {
      var name = all.getAttribute("data-select-all");
      document.querySelectorAll('input[name="' + name + '"]').forEach(function (box) { box.checked = all.checked; });
    });
  });

  // An edited message body says at once whether it is JSON (the server checks it again).
  document.querySelectorAll("textarea[data-json-check]").forEach(function (area) {
    var state = document.getElementById(area.getAttribute("data-json-check"));
    var check = function () {
      try {
        var value = JSON.parse(area.value);
        var object = value !== null && typeof value === "object" && !Array.isArray(value);
        state.textContent = object ? "valid JSON" : "the body must be a JSON object";
        state.className = "help small " + (object ? "ok" : "err");
      } catch (e) { state.textContent = "not JSON yet: " + e.message; state.className = "help small err"; }
    };
    area.addEventListener("input", check);
    check();
  });

  // Schedule helper: writes a daily START/STOP window into the schedule field.
  document.querySelectorAll("[data-schedule-for]").forEach(function (helper) {
    var field = document.getElementById(helper.getAttribute("data-schedule-for"));
    var times = helper.querySelectorAll("input[type=time]");
    helper.querySelector("button").addEventListener("click", function () {
      field.value = "START:*-*-*T" + times[0].value + ":00,STOP:*-*-*T" + times[1].value + ":00";
    });
  });

  // Directory and file pickers: browse the server's allowed folders.
  var dialog = document.getElementById("picker");
  if (dialog) {
    var list = document.getElementById("picker-list"), pathBox = document.getElementById("picker-path");
    var errorBox = document.getElementById("picker-error"), choose = document.getElementById("picker-choose");
    var state = { field: null, kind: "directory", path: "", file: "" };
    var noteBox = document.getElementById("picker-note");
    // A value the server may not list (outside the allowed folders, or gone) is never
    // replaced by an empty one: the dialog says so, lists the allowed folders instead, and
    // the field keeps its value unless another one is chosen.
    var load = function (path, fromField) {
      var url = "/ns/" + ns + "/fs?kind=" + (state.kind === "file" ? "file" : "dir") + "&path=" + encodeURIComponent(path || "");
      choose.disabled = true;
      fetch(url, { credentials: "same-origin" }).then(function (r) { return r.json().then(function (d) { return [r.ok, d]; }); })
        .then(function (res) {
          var ok = res[0], data = res[1];
          if (!ok && fromField && path) {
            noteBox.hidden = false;
            noteBox.textContent = data.error + ". Pick one of the allowed folders below, or Cancel to keep " + path + ".";
            load("", false);
            return;
          }
          errorBox.hidden = ok; errorBox.textContent = ok ? "" : data.error;
          if (!ok) return;
          state.path = data.path; state.file = "";
          pathBox.textContent = data.path || "Allowed folders";
          choose.disabled = state.kind === "directory" ? !data.path : true;
          list.innerHTML = "";
          if (data.parent) addEntry("..", data.parent, true);
          data.entries.forEach(function (e) { addEntry(e.name, e.path, e.dir); });
          if (!data.entries.length) { var li = document.createElement("li"); li.className = "muted small"; li.textContent = "(empty)"; list.appendChild(li); }
        });
    };
    var addEntry = function (label, path, isDir) {
      var li = document.createElement("li"), a = document.createElement("a");
      a.href = "#"; a.textContent = label; a.className = isDir ? "dir" : "file"; a.setAttribute("data-path", path);
      a.addEventListener("click", function (ev) {
        ev.preventDefault();
        if (isDir) { load(path); return; }
        list.querySelectorAll("li").forEach(function (x) { x.classList.remove("chosen"); });
        li.classList.add("chosen"); state.file = path; choose.disabled = false;
      });
      li.appendChild(a); list.appendChild(li);
    };
    document.querySelectorAll("[data-pick]").forEach(function (btn) {
      btn.addEventListener("click", function () {
        state.field = document.getElementById(btn.getAttribute("data-for"));
        state.kind = btn.getAttribute("data-pick");
        document.getElementById("picker-title").textContent = state.kind === "file" ? "Choose a file" : "Choose a folder";
        choose.textContent = state.kind === "file" ? "Choose this file" : "Choose this folder";
        state.path = ""; state.file = "";
        noteBox.hidden = true; noteBox.textContent = "";
        errorBox.hidden = true; errorBox.textContent = "";
        var current = state.field.value.trim();
        document.getElementById("picker-current").textContent = current ? "Current value: " + current : "No value yet";
        dialog.showModal();
        // A file's folder is what the file picker opens on.
        var start = state.kind === "file" && current ? current.replace(/\/[^\/]*$/, "") || "/" : current;
        load(start, true);
      });
    });
    dialog.addEventListener("close", function () {
      if (dialog.returnValue !== "choose" || !state.field) return;
      var chosen = state.kind === "file" ? state.file : state.path;
      if (!chosen) return;  // nothing chosen: the setting keeps its value
      state.field.value = chosen;
      state.field.dispatchEvent(new Event("change"));
    });
  }

  // Event log live tail: new entries matching the page's filters appear on top.
  var table = document.querySelector("#log-table[data-live]");
  var toggle = document.getElementById("live-tail");
  if (table && toggle) {
    var after = parseInt(table.getAttribute("data-after") || "0", 10);
    var filters = table.getAttribute("data-filters") || "";
    var maxRows = parseInt(table.getAttribute("data-max-rows") || "500", 10);
    var stateLabel = document.getElementById("tail-state");
    var cell = function (tr, html) { var td = document.createElement("td"); if (html !== null) td.appendChild(html); tr.appendChild(td); return td; };
    var text = function (t) { return document.createTextNode(t === null || t === undefined ? "" : String(t)); };
    var link = function (href, t) { var a = document.createElement("a"); a.href = href; a.textContent = t; return a; };
    var row = function (e) {
      var tr = document.createElement("tr"), type = String(e.type).toLowerCase();
      tr.className = "log-" + type + " flash-new"; tr.setAttribute("data-id", e.id);
      cell(tr, text(e.id));
      cell(tr, text(e.time_logged)).className = "mono nowrap";
      var badge = document.createElement("span"); badge.className = "status log-type-" + type; badge.textContent = e.type; cell(tr, badge);
      cell(tr, text(e.config_name));
      cell(tr, e.session_id !== "" ? link("/ns/" + ns + "/trace/" + e.session_id, e.session_id) : null);
      cell(tr, e.message_id !== "" ? link("/ns/" + ns + "/messages/" + e.message_id, e.message_id) : null);
      cell(tr, text(e.text)).className = "pre";
      return tr;
    };
    var poll = function () {
      if (!toggle.checked) { stateLabel.textContent = "paused"; return; }
      fetch(table.getAttribute("data-tail") + "?after_id=" + after + (filters ? "&" + filters : ""), { credentials: "same-origin" })
        .then(function (r) { return r.json(); })
        .then(function (data) {
          if (data.error) { stateLabel.textContent = data.error; return; }
          var body = table.tBodies[0];
          data.entries.slice().reverse().forEach(function (e) {
            body.insertBefore(row(e), body.firstChild);
            after = Math.max(after, e.id);
          });
          // The page keeps at most maxRows rows: the oldest leave as new ones come in.
          while (body.rows.length > maxRows) body.deleteRow(body.rows.length - 1);
          if (data.entries.length) { var empty = document.getElementById("log-empty"); if (empty) empty.remove(); }
          stateLabel.textContent = "updated " + new Date().toLocaleTimeString();
        })
        .catch(function () { stateLabel.textContent = "connection lost; retrying"; });
    };
    window.setInterval(poll, 2000);
    toggle.addEventListener("change", poll);
  }
  // The visual trace: an arrow's message opens beside the diagram without a page load
  // (the arrow's link does the same with a page load when this script is off).
  var traceAside = document.getElementById("trace-message");
  if (traceAside) {
    document.querySelectorAll("#trace-diagram a.msg-link").forEach(function (link) {
      link.addEventListener("click", function (ev) {
        ev.preventDefault();
        var id = link.getAttribute("data-show");
        fetch(traceAside.getAttribute("data-panel-url") + encodeURIComponent(id) + "?panel=1", { credentials: "same-origin" })
          .then(function (r) {
            if (!r.ok) throw new Error("HTTP " + r.status);
            return r.text();
          })
          .then(function (html) {
            traceAside.innerHTML = html;  // our own server's escaped fragment
            document.querySelectorAll("#trace-diagram g.msg.chosen").forEach(function (g) { g.classList.remove("chosen"); });
            var g = link.querySelector("g.msg");
            if (g) g.classList.add("chosen");
            history.replaceState(null, "", link.getAttribute("href").split("#")[0]);
          })
          .catch(function (e) {
            traceAside.textContent = "Message " + id + " could not be loaded (" + e.message + "); reload the page.";
          });
      });
    });
  }

  // Live health (the production monitor and the configuration diagram): poll
  // /monitor/state with the last answer's ETag; a 304 means nothing changed, so nothing is
  // redrawn. Polling stops while the tab is hidden.
  var live = document.querySelector("[data-live-state]");
  if (live) {
    var etag = live.getAttribute("data-etag") || "";
    var liveLabel = document.getElementById("live-state");
    var polls = 0;
    var applyState = function (data) {
      Object.keys(data.html).forEach(function (key) {
        var part = live.querySelector('[data-part="' + key + '"]');
        if (part) part.innerHTML = data.html[key];
      });
      Object.keys(data.items).forEach(function (name) {
        var box = document.querySelector('#config-diagram a[data-item="' + CSS.escape(name) + '"]');
        if (!box) return;
        var item = data.items[name];
        var dot = box.querySelector("circle.light-dot");
        if (dot) {
          dot.setAttribute("class", "light-dot light-" + item.light);
          dot.setAttribute("data-light", item.light);
          var title = dot.querySelector("title");
          if (title) title.textContent = item.light + (item.error ? " — " + item.error : "");
        }
        var panel = document.querySelector('#item-actions[data-item="' + CSS.escape(name) + '"]');
        var panelLight = panel && document.getElementById("item-light");
        if (panelLight) {
          panelLight.className = "light light-" + item.light;
          panelLight.setAttribute("data-light", item.light);
          document.getElementById("item-light-name").textContent = item.light;
        }
        var queue = box.querySelector("text.queue-count");
        if (queue) { queue.textContent = item.queue ? String(item.queue) : ""; queue.setAttribute("data-queue", item.queue); }
      });
      var status = document.getElementById("production-status");
      if (status) { status.textContent = data.status; status.className = "status status-" + data.status; }
    };
    var pollState = function () {
      if (document.hidden) return;
      var headers = etag ? { "If-None-Match": etag } : {};
      fetch(live.getAttribute("data-live-state"), { credentials: "same-origin", cache: "no-store", headers: headers })
        .then(function (r) {
          polls += 1; live.setAttribute("data-polls", String(polls));
          if (r.status === 304) return null;
          if (!r.ok) throw new Error("HTTP " + r.status);
          etag = r.headers.get("ETag") || "";
          return r.json();
        })
        .then(function (data) {
          if (data) { applyState(data); live.setAttribute("data-etag", etag); }
          if (liveLabel) liveLabel.textContent = "live · checked " + new Date().toLocaleTimeString();
        })
        .catch(function () { if (liveLabel) liveLabel.textContent = "connection lost; retrying"; });
    };
    window.setInterval(pollState, 2000);
    document.addEventListener("visibilitychange", pollState);
    document.addEventListener("iop:refresh", pollState);
  }

  // The selected item's actions (Test, Restart, Enable / Disable): posted in the
  // background and answered as JSON, so the page updates in place; without this script
  // they post as forms and the answer comes back as a message above the page.
  var itemResult = document.getElementById("item-action-result");
  var showTestForm = function (name) {
    document.querySelectorAll("form.test-form").forEach(function (f) {
      var cls = f.querySelector('input[type=hidden][name="classname"]');
      f.hidden = (cls ? cls.value : "") !== name;
    });
    document.querySelectorAll("#test-classes [data-test-class]").forEach(function (a) {
      a.className = "btn small " + (a.getAttribute("data-test-class") === name ? "primary" : "ghost");
    });
  };
  document.querySelectorAll("[data-test-class]").forEach(function (a) {
    a.addEventListener("click", function (ev) { ev.preventDefault(); showTestForm(a.getAttribute("data-test-class")); });
  });
  var testResult = function (data, ok) {
    var box = document.getElementById("test-result");
    if (!box) return;
    box.hidden = false;
    box.className = "test-result " + (ok ? "ok" : "err");
    document.getElementById("test-response-class").textContent = ok ? (data.classname || "(no response)") : "";
    var body = data.body || "";
    try { body = body ? JSON.stringify(JSON.parse(body), null, 2) : ""; } catch (e) { /* shown as it came */ }
    document.getElementById("test-response-body").textContent = ok ? body : data.error;
    var trace = document.getElementById("test-trace");
    trace.hidden = !data.trace;
    if (data.trace) { trace.href = data.trace; trace.textContent = "Visual trace of session " + data.session_id; }
  };
  document.querySelectorAll("form[data-item-action]").forEach(function (form) {
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var action = form.getAttribute("data-item-action");
      var btn = ev.submitter || form.querySelector("button[type=submit]");
      var label = btn.textContent;
      btn.disabled = true; btn.textContent = "Working…";
      if (itemResult) { itemResult.textContent = ""; itemResult.className = "muted small"; }
      fetch(form.action, {
        method: "POST", credentials: "same-origin",
        headers: { "Accept": "application/json", "Content-Type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams(new FormData(form)).toString()
      }).then(function (r) {
        var json = (r.headers.get("Content-Type") || "").indexOf("application/json") >= 0;
        // Not JSON: refused before the action ran (403 page, or the login form once the
        // session expired).
        return (json ? r.json() : r.text().then(function () { return { error: "HTTP " + r.status + ": the action was refused; reload the page" }; }))
          .then(function (d) { return [r.ok && json, d]; });
      }).then(function (res) {
        var ok = res[0], data = res[1];
        btn.disabled = false; btn.textContent = label;
        if (action === "test") { testResult(data, ok); }
        if (itemResult && (action !== "test" || !ok)) {
          itemResult.textContent = ok ? data.message : data.error;
          itemResult.className = "small " + (ok ? "ok" : "err");
        }
        if (!ok) return;
        if (data.pids) document.getElementById("item-pids").textContent = data.pids.join(", ") || "none";
        if (action === "enable") {
          var on = data.enabled;
          form.querySelector('input[name="enabled"]').value = on ? "0" : "1";
          btn.textContent = on ? "Disable" : "Enable"; btn.setAttribute("data-enabled", on ? "1" : "0");
          var box = document.querySelector("#f-enabled");
          if (box) box.checked = on;
        }
        document.dispatchEvent(new Event("iop:refresh"));
      }).catch(function () {
        btn.disabled = false; btn.textContent = label;
        if (itemResult) { itemResult.textContent = "connection lost; the action may not have run"; itemResult.className = "small err"; }
      });
    });
  });
})();
