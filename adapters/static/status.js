(function () {
  "use strict";
  var form = document.getElementById("lookup");
  var input = document.getElementById("code");
  var out = document.getElementById("result");
  function row(dl, name, value) {
    if (value === undefined || value === null || value === "") return;
    var dt = document.createElement("dt"); dt.textContent = name;
    var dd = document.createElement("dd"); dd.textContent = value;
    dl.appendChild(dt); dl.appendChild(dd);
  }
  function rating(code) {
    var box = document.createElement("div");
    box.className = "rating";
    var label = document.createElement("p"); label.textContent = "您对答复是否满意？";
    var comment = document.createElement("textarea");
    comment.placeholder = "意见（选填）"; comment.maxLength = 1000; comment.setAttribute("aria-label", "意见");
    box.appendChild(label); box.appendChild(comment);
    [["满意", true], ["不满意", false]].forEach(function (pair) {
      var b = document.createElement("button");
      b.type = "button"; b.textContent = pair[0];
      b.addEventListener("click", function () {
        fetch("/api/public/letters/" + encodeURIComponent(code), {
          method: "POST", headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ satisfied: pair[1], comment: comment.value })
        }).then(function (r) { return r.json().then(function (d) { return { ok: r.ok, data: d }; }); })
          .then(function (res) {
            box.textContent = res.ok ? (pair[1] ? "感谢您的评价！" : "已收到，留言将重新办理。")
              : ((res.data.error && res.data.error.message) || "提交失败，请稍后再试");
          });
      });
      box.appendChild(b);
    });
    out.appendChild(box);
  }
  function show(code) {
    out.textContent = "查询中……";
    fetch("/api/public/letters/" + encodeURIComponent(code.replace(/\s+/g, "")))
      .then(function (r) { return r.json().then(function (d) { return { ok: r.ok, data: d }; }); })
      .then(function (res) {
        out.textContent = "";
        if (!res.ok) {
          var p = document.createElement("p"); p.className = "error";
          p.textContent = (res.data.error && res.data.error.message) || "查询失败，请稍后再试"; out.appendChild(p); return;
        }
        var d = res.data, dl = document.createElement("dl");
        row(dl, "跟踪码", d.code); row(dl, "类型", d.kind_label); row(dl, "状态", d.status_label);
        row(dl, "原因", d.decline_reason);
        row(dl, "办理单位", d.unit_name); row(dl, "提交日期", d.received_on);
        row(dl, "受理日期", d.accepted_on);
        // Before acceptance: the date the chat promised, counted from the day it was received.
        row(dl, "答复期限", d.due_on || (d.expected_due_on ? "预计 " + d.expected_due_on + "（受理后确定）" : ""));
        row(dl, "答复日期", d.replied_on);
        out.appendChild(dl);
        (d.replies || []).forEach(function (r) {
          var box = document.createElement("section"); box.className = "reply";
          var h = document.createElement("h2"); h.textContent = "答复（" + r.sent_on + "）";
          var p = document.createElement("p"); p.textContent = r.text;
          box.appendChild(h); box.appendChild(p); out.appendChild(box);
        });
        if (d.may_rate) rating(d.code);
      })
      .catch(function () { out.textContent = "网络连接失败，请稍后再试"; });
  }
  form.addEventListener("submit", function (e) { e.preventDefault(); if (input.value.trim()) show(input.value.trim()); });
  if (input.value.trim()) show(input.value.trim());
})();
