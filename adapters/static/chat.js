(function () {
  "use strict";
  var log = document.getElementById("log");
  var form = document.getElementById("ask");
  var input = document.getElementById("text");
  var sendButton = form.querySelector("button[type=submit]");
  var root = document.documentElement;
  var busy = false;
  // The conversation is named by an HttpOnly cookie now; an id left here by an older page is
  // of no use to anyone.
  try { localStorage.removeItem("ms_chat_session"); } catch (e) { /* storage disabled */ }

  // The page is exactly the visible area: header and input stay put, the messages scroll. The
  // visual viewport shrinks when the on-screen keyboard opens (100dvh does not everywhere).
  function follow() { log.scrollTop = log.scrollHeight; }
  function fit() {
    var vv = window.visualViewport;
    root.style.setProperty("--app-height", (vv ? vv.height : window.innerHeight) + "px");
    root.style.setProperty("--app-top", (vv ? vv.offsetTop : 0) + "px");
    document.body.classList.add("fitted");
    follow();
  }
  if (window.visualViewport) {
    window.visualViewport.addEventListener("resize", fit);
    window.visualViewport.addEventListener("scroll", fit);
  }
  window.addEventListener("resize", fit);
  input.addEventListener("focus", function () { setTimeout(fit, 300); });
  fit();

  function bubble(text, who) {
    var div = document.createElement("div");
    div.className = "msg " + who;
    div.textContent = text;
    log.appendChild(div);
    follow();
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
        var label = c.value + ". " + c.label;
        b.type = "button"; b.textContent = label; b.disabled = busy;
        b.addEventListener("click", function () { send(c.value, "", label); });
        box.appendChild(b);
      });
      div.appendChild(box);
    }
    follow();
  }
  // One message at a time: a double tap on "1. 提交" (or Enter pressed twice) sends it once.
  function setBusy(on) {
    busy = on;
    sendButton.disabled = on;
    log.setAttribute("aria-busy", on ? "true" : "false");
    document.querySelectorAll(".quick button, #log .choices button").forEach(function (b) { b.disabled = on; });
  }
  function newId() {
    var bytes = new Uint8Array(12);
    crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }
  function send(text, action, shown) {
    if (busy) return false;
    setBusy(true);
    if (shown) bubble(shown, "me");
    var body = { text: text, action: action || "", shown: shown || "", message_id: newId() };
    var renewed = false;
    var attempt = function (left) {
      return fetch("/api/chat", {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json" }, body: JSON.stringify(body)
      })
        .then(function (r) { return r.json().then(function (d) { return { ok: r.ok, data: d }; }); })
        .then(function (res) {
          if (!res.ok && !renewed && res.data.error && res.data.error.code === "bad_session") {
            // The cookie lapsed while the page stayed open (a day without a message): the page
            // hands out a new one, and the message goes to a new conversation.
            renewed = true;
            return fetch("/chat", { credentials: "same-origin" }).then(function () { return attempt(left); });
          }
          if (!res.ok) { bubble((res.data.error && res.data.error.message) || "出错了，请稍后再试", "bot error"); return; }
          res.data.replies.forEach(showReply);
        })
        .catch(function () {
          // The same message_id makes a retry safe: the server answers it once.
          if (left > 0) return new Promise(function (ok) { setTimeout(ok, 1000); }).then(function () { return attempt(left - 1); });
          bubble("网络连接失败，请稍后再试", "bot error");
        });
    };
    attempt(2).then(function () { setBusy(false); }, function () { setBusy(false); });
    return true;
  }
  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var text = input.value.trim();
    if (!text || busy) return;
    input.value = "";
    send(text, "", text);
  });
  document.querySelectorAll(".quick button").forEach(function (b) {
    b.addEventListener("click", function () { send("", b.dataset.action, b.textContent); });
  });

  // Back on the page (a reload, or from the status page): the conversation carries on where it
  // was, a half-written letter included; a new visitor is welcomed.
  setBusy(true);
  fetch("/api/chat/history", { credentials: "same-origin", cache: "no-store" })
    .then(function (r) { return r.ok ? r.json() : { messages: [] }; })
    .catch(function () { return { messages: [] }; })
    .then(function (d) {
      var messages = (d && d.messages) || [];
      messages.forEach(function (m) { if (m.who === "me") bubble(m.text, "me"); else showReply(m); });
      setBusy(false);
      if (!messages.length) send("", "welcome", "");
    });
})();
