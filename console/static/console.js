// The console's small behaviours: the 菜单 button that unfolds the navigation on a phone, the
// 复制正文 buttons, and keeping what a staff member typed when a form could not be sent (the
// session ran out, or was ended in another tab): the form's fields go to sessionStorage when it
// is submitted; the 页面已过期 page marks them to be restored; after logging in again, the same
// page fills them back in. A form that went through leaves nothing behind.
(function () {
  "use strict";
  var LAST = "ms_form_last", RESTORE = "ms_form_restore", MAX_AGE_MS = 2 * 3600 * 1000;
  var here = location.pathname + location.search;
  function kept(field) {
    var t = (field.type || "").toLowerCase();
    return field.name && field.name !== "csrf_token" && t !== "password" && t !== "hidden" &&
      t !== "file" && t !== "submit" && t !== "button" && !field.disabled;
  }
  function read(key) {
    try { return JSON.parse(sessionStorage.getItem(key) || "null"); } catch (e) { return null; }
  }
  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    if (!form || (form.method || "").toLowerCase() !== "post" || form.hasAttribute("data-no-keep")) return;
    var fields = [];
    Array.prototype.forEach.call(form.elements, function (f) {
      if (!kept(f)) return;
      if ((f.type === "checkbox" || f.type === "radio")) fields.push([f.name, f.value, f.checked]);
      else fields.push([f.name, f.value]);
    });
    if (!fields.some(function (f) { return f.length === 2 && String(f[1]).trim(); })) return;
    try {
      sessionStorage.setItem(LAST, JSON.stringify(
        { page: here, action: form.getAttribute("action") || "", at: Date.now(), fields: fields }));
    } catch (e) { /* storage full or off: nothing kept */ }
  }, true);
  // 复制正文: a publication to paste by hand copies its text from the readonly textarea.
  document.addEventListener("click", function (ev) {
    var button = ev.target.closest && ev.target.closest("button[data-copy]");
    if (!button) return;
    var area = document.getElementById(button.getAttribute("data-copy"));
    if (!area) return;
    area.focus();
    area.select();
    var done = function () { button.textContent = "已复制"; };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(area.value).then(done, function () {
        if (document.execCommand("copy")) done();
      });
    } else if (document.execCommand("copy")) {
      done();
    }
  });
  document.addEventListener("click", function (ev) {
    var button = ev.target.closest && ev.target.closest("header.top button.menu");
    if (!button) return;
    var open = button.parentNode.classList.toggle("open");
    button.setAttribute("aria-expanded", open ? "true" : "false");
  });
  document.addEventListener("DOMContentLoaded", function () {
    var expired = document.body.hasAttribute("data-session-expired");
    var last = read(LAST);
    sessionStorage.removeItem(LAST);
    if (expired) {
      if (last) sessionStorage.setItem(RESTORE, JSON.stringify(last));
      return;
    }
    var restore = read(RESTORE);
    if (!restore) return;
    if (Date.now() - restore.at > MAX_AGE_MS) { sessionStorage.removeItem(RESTORE); return; }
    if (restore.page !== here) return;  // the login pages in between: keep waiting
    sessionStorage.removeItem(RESTORE);
    var form = Array.prototype.find.call(document.forms, function (f) {
      return (f.getAttribute("action") || "") === restore.action;
    });
    if (!form) return;
    restore.fields.forEach(function (item) {
      var els = form.querySelectorAll('[name="' + item[0].replace(/"/g, '\\"') + '"]');
      Array.prototype.forEach.call(els, function (el) {
        if (!kept(el)) return;
        if (el.type === "checkbox" || el.type === "radio") { if (el.value === item[1]) el.checked = item[2]; }
        else el.value = item[1];
      });
    });
    var note = document.createElement("div");
    note.className = "flash ok";
    note.setAttribute("role", "status");
    note.textContent = "已恢复您登录前填写的内容，请检查后重新提交。";
    form.parentNode.insertBefore(note, form);
  });
})();
