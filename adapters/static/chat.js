(function () {
  "use strict";
  var log = document.getElementById("log");
  var form = document.getElementById("ask");
  var input = document.getElementById("text");
  var session = localStorage.getItem("ms_chat_session");
  if (!session || !/^[A-Za-z0-9_-]{16,64}$/.test(session)) {
    session = (crypto.randomUUID ? crypto.randomUUID() : String(Math.random()).slice(2) + Date.now()).replace(/[^A-Za-z0-9]/g, "");
    localStorage.setItem("ms_chat_session", session);
  }
  function bubble(text, who) {
    var div = document.createElement("div");
    div.className = "msg " + who;
    div.textContent = text;
    log.appendChild(div);
    log.scrollTop = log.scrollHeight;
    return div;
  }
  function showReply(reply) {
    var div = bubble(reply.text, "bot");
    if (reply.links && reply.links.length) {
      reply.links.forEach(function (l) {
        var a = document.createElement("a");
        a.href = l.url; a.textContent = l.title; a.rel = "noopener"; a.target = "_blank";
        div.appendChild(document.createElement("br")); div.appendChild(a);
      });
    }
    if (reply.choices && reply.choices.length) {
      var box = document.createElement("div");
      box.className = "choices";
      reply.choices.forEach(function (c) {
        var b = document.createElement("button");
        b.type = "button"; b.textContent = c.value + ". " + c.label;
        b.addEventListener("click", function () { send(c.value, "", c.value + ". " + c.label); });
        box.appendChild(b);
      });
      div.appendChild(box);
    }
  }
  var counter = 0;
  function send(text, action, shown) {
    if (shown) bubble(shown, "me");
    var body = { session: session, text: text, action: action || "", message_id: session.slice(0, 8) + "-" + Date.now() + "-" + (counter++) };
    var attempt = function (left) {
      return fetch("/api/chat", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) })
        .then(function (r) { return r.json().then(function (d) { return { ok: r.ok, data: d }; }); })
        .then(function (res) {
          if (!res.ok) { bubble((res.data.error && res.data.error.message) || "出错了，请稍后再试", "bot error"); return; }
          res.data.replies.forEach(showReply);
        })
        .catch(function () {
          // The same message_id makes a retry safe: the server answers it once.
          if (left > 0) return new Promise(function (ok) { setTimeout(ok, 1000); }).then(function () { return attempt(left - 1); });
          bubble("网络连接失败，请稍后再试", "bot error");
        });
    };
    return attempt(2);
  }
  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var text = input.value.trim();
    if (!text) return;
    input.value = "";
    send(text, "", text);
  });
  document.querySelectorAll(".quick button").forEach(function (b) {
    b.addEventListener("click", function () { send("", b.dataset.action, b.textContent); });
  });
  send("", "welcome", "");
})();
