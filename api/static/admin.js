// Admin forms: send the form as JSON to the API with the CSRF header, reload on success,
// show the API's message on error. Messages are set as text, never as HTML.
(function () {
  "use strict";
  function csrf() {
    var meta = document.querySelector("meta[name=csrf-token]");
    return meta ? meta.content : "";
  }
  function cast(el, value) {
    return el.dataset.cast === "int" ? parseInt(value, 10) : value;
  }
  function setPath(obj, path, value) {
    var keys = path.split(".");
    var last = keys.pop();
    keys.forEach(function (k) { obj = obj[k] = obj[k] || {}; });
    obj[last] = value;
  }
  function toJson(form) {
    var out = {};
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || el.name === "csrf_token") return;
      var v;
      if (el.type === "checkbox") v = el.checked;
      else if (el.multiple) v = Array.prototype.map.call(el.selectedOptions, function (o) { return cast(el, o.value); });
      else if (el.hasAttribute("data-list")) v = el.value.split(";").map(function (s) { return s.trim(); }).filter(Boolean);
      else if (el.value === "") {
        if (el.hasAttribute("data-optional")) return;
        v = el.hasAttribute("data-nullable") ? null : "";
      } else v = el.type === "number" ? Number(el.value) : cast(el, el.value);
      setPath(out, el.name, v);
    });
    return out;
  }
  function send(url, method, body, errorEl) {
    var headers = { "X-CSRF-Token": csrf() };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    return fetch(url, { method: method, headers: headers, credentials: "same-origin",
                        body: body === undefined ? undefined : JSON.stringify(body) })
      .then(function (r) {
        if (r.ok) { window.location.reload(); return; }
        return r.json().catch(function () { return {}; }).then(function (data) {
          var msg = data.detail || ("Lỗi " + r.status);
          if (errorEl) errorEl.textContent = typeof msg === "string" ? msg : JSON.stringify(msg);
          else window.alert(msg);
        });
      })
      .catch(function () {
        if (errorEl) errorEl.textContent = "Không kết nối được máy chủ; vui lòng thử lại.";
      });
  }
  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    if (!form.classList.contains("api-form")) return;
    ev.preventDefault();
    send(form.dataset.api, form.dataset.method, toJson(form), form.querySelector(".form-error"));
  });
  document.addEventListener("click", function (ev) {
    var btn = ev.target.closest("[data-delete]");
    if (!btn || !window.confirm("Xóa mục này?")) return;
    send(btn.dataset.delete, "DELETE", undefined, null);
  });
})();
