// The inbox: polls for new cases and inserts them in place, keyboard shortcuts.
// Every value from the server is set with textContent: titles are scraped, untrusted text.
(function () {
  "use strict";
  var table = document.getElementById("cases");
  if (!table) return;
  var body = table.tBodies[0];
  var notice = document.getElementById("notice");
  var csrf = document.querySelector('meta[name="csrf-token"]').content;
  var canAct = table.dataset.canAct === "true";
  var me = parseInt(table.dataset.me, 10);
  var maxId = parseInt(table.dataset.maxId, 10) || 0;
  var query = new URLSearchParams(table.dataset.query || "");
  query.delete("cursor");
  var SEV = { critical: "Khẩn cấp", high: "Cao", medium: "Trung bình", low: "Thấp" };
  var RANK = { critical: 0, high: 1, medium: 2, low: 3 };
  var selected = -1;

  function fmt(iso) {
    if (!iso) return "";
    // Same shape as the server's "dd/mm/yyyy HH:MM" in Asia/Ho_Chi_Minh.
    var parts = {};
    new Intl.DateTimeFormat("en-GB", { timeZone: "Asia/Ho_Chi_Minh", day: "2-digit", month: "2-digit",
      year: "numeric", hour: "2-digit", minute: "2-digit", hourCycle: "h23" })
      .formatToParts(new Date(iso)).forEach(function (p) { parts[p.type] = p.value; });
    return parts.day + "/" + parts.month + "/" + parts.year + " " + parts.hour + ":" + parts.minute;
  }

  function cell(tr, text) {
    var td = document.createElement("td");
    td.textContent = text;
    tr.appendChild(td);
    return td;
  }

  var SCOPE = { national: "Báo trung ương", local: "Báo địa phương", social: "Mạng xã hội" };
  var FEEL = { tieu_cuc: "Tiêu cực", trung_tinh: "Trung tính", tich_cuc: "Tích cực" };

  function list(parent, tag, cls, items) {
    var ul = document.createElement(tag);
    ul.className = cls;
    items.forEach(function (text) {
      var li = document.createElement("li");
      li.textContent = text;
      ul.appendChild(li);
    });
    parent.appendChild(ul);
  }

  // The same columns as inbox.html renders on the server.
  function row(c) {
    var tr = document.createElement("tr");
    tr.className = "case fresh sev-" + c.severity + (c.is_overdue ? " overdue" : "");
    tr.dataset.id = String(c.id);
    tr.dataset.story = c.story_id ? String(c.story_id) : "";
    tr.dataset.rank = String(RANK[c.severity] === undefined ? 4 : RANK[c.severity]);
    var sev = cell(tr, "");
    var span = document.createElement("span");
    span.className = "sev";
    span.textContent = c.severity_label || SEV[c.severity] || "";
    sev.appendChild(span);
    var td = cell(tr, "");
    var a = document.createElement("a");
    a.className = "title";
    a.href = "/canh-bao/" + encodeURIComponent(c.id);
    a.textContent = c.title || "(không có tiêu đề)";
    td.appendChild(a);
    list(td, "ul", "reasons", c.reasons || []);
    cell(tr, c.kind_label || "").className = "kind";
    var more = c.source_count - (c.outlets || []).length;
    var outlets = cell(tr, (c.outlets || []).join(", ") + (more > 0 ? " và " + more + " nguồn khác" : ""));
    outlets.className = "outlets";
    var tags = document.createElement("div");
    (c.scopes || []).forEach(function (s) {
      var t = document.createElement("span");
      t.className = "tag scope-" + s;
      t.textContent = SCOPE[s] || "";
      tags.appendChild(t);
    });
    outlets.appendChild(tags);
    cell(tr, FEEL[c.sentiment] || "").className = "sentiment";
    var spread = cell(tr, c.source_count ? c.source_count + " nguồn, " + c.doc_count + " tin" : "");
    spread.className = "spread";
    if (c.rising) {
      var b = document.createElement("b");
      b.className = "rising";
      b.textContent = " Đang lên";
      spread.appendChild(b);
    }
    cell(tr, c.unit_name || "").className = "unit";
    cell(tr, c.status_label).className = "status";
    cell(tr, c.assignee ? c.assignee.name : "").className = "assignee";
    cell(tr, fmt(c.created_at));
    cell(tr, fmt(c.due_at) + (c.is_overdue ? " Quá hạn" : ""));
    return tr;
  }

  function insert(tr) {
    var empty = body.querySelector("tr.empty");
    if (empty) empty.remove();
    // One story is one row: a graver case of a story already listed replaces its row.
    if (tr.dataset.story) {
      var same = body.querySelector('tr.case[data-story="' + tr.dataset.story + '"]');
      if (same) same.remove();
    }
    var rank = parseInt(tr.dataset.rank, 10);
    var rows = body.querySelectorAll("tr.case");
    for (var i = 0; i < rows.length; i++) {
      // Newest first within a severity: a new case goes before the first of its rank or lower.
      if (parseInt(rows[i].dataset.rank, 10) >= rank) { body.insertBefore(tr, rows[i]); return; }
    }
    body.appendChild(tr);
  }

  function counts(c) {
    document.querySelectorAll("#counts a").forEach(function (a) {
      var b = a.querySelector("b");
      if (b && c[a.dataset.status] !== undefined) b.textContent = String(c[a.dataset.status]);
    });
  }

  function poll() {
    var q = new URLSearchParams(query);
    q.set("after_id", String(maxId));
    fetch("/api/v1/cases/updates?" + q.toString(), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) {
        // The session ended (expired or signed out elsewhere): back to the sign-in page.
        if (r.status === 401) window.location.href = "/dang-nhap?next=%2Fhop-thu";
        return r.ok ? r.json() : null;
      })
      .then(function (data) {
        if (!data) return;
        data.items.slice().reverse().forEach(function (c) {
          if (!body.querySelector('tr[data-id="' + c.id + '"]')) insert(row(c));
        });
        if (data.items.length) notice.textContent = "Có " + data.items.length + " cảnh báo mới.";
        maxId = Math.max(maxId, data.max_id);
        counts(data.counts);
      })
      .catch(function () { /* the next poll retries */ });
  }

  function rows() { return body.querySelectorAll("tr.case"); }

  function select(i) {
    var all = rows();
    if (!all.length) return;
    selected = Math.max(0, Math.min(all.length - 1, i));
    all.forEach(function (r) { r.classList.remove("selected"); });
    all[selected].classList.add("selected");
    all[selected].scrollIntoView({ block: "nearest" });
  }

  function act(path, payload) {
    var tr = rows()[selected];
    if (!tr || !canAct) return;
    fetch("/api/v1/cases/" + tr.dataset.id + "/" + path, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf, Accept: "application/json" },
      body: JSON.stringify(payload || {})
    }).then(function (r) {
      return r.json().then(function (data) {
        if (!r.ok) { notice.textContent = data.detail || "Không thực hiện được."; return; }
        tr.querySelector(".status").textContent = data.status_label;
        tr.querySelector(".assignee").textContent = data.assignee ? data.assignee.name : "";
        notice.textContent = "Đã cập nhật cảnh báo #" + data.id + ".";
      });
    });
  }

  document.addEventListener("keydown", function (ev) {
    var tag = (ev.target.tagName || "").toLowerCase();
    if (tag === "input" || tag === "textarea" || tag === "select" || ev.ctrlKey || ev.metaKey || ev.altKey) return;
    if (ev.key === "j") select(selected + 1);
    else if (ev.key === "k") select(selected - 1);
    else if (ev.key === "Enter" && selected >= 0) window.location.href = "/canh-bao/" + rows()[selected].dataset.id;
    else if (ev.key === "a") act("acknowledge");
    else if (ev.key === "e") act("assign", { assignee_id: me });
    else return;
    ev.preventDefault();
  });

  window.setInterval(poll, 2000);
})();
