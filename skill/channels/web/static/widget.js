// Runner Hip Check's web chat widget: one script tag on a clinic's page.
//   <script src="https://HOST/web/widget.js" defer></script>
// It draws itself inside a shadow root (the page's styles and its own stay apart), in an
// element with id "runner-hip-check" when the page has one, else at the end of the body.
// It talks JSON to the service it came from. No inline script or style, nothing from
// elsewhere, so a strict Content-Security-Policy works (script-src and style-src HOST,
// connect-src HOST).
(function () {
  "use strict";
  var script = document.currentScript;
  var service = new URL(script.src).origin;
  var STORE = "runner-hip-check-token";
  var MAX_TEXT = 1000; // as the service's MAX_TEXT
  var TRIES = 3; // a send that gets no answer is sent again, with the same id
  // Shown only when the service cannot be reached at all; every answer from it brings its
  // own words (a fault's name the emergency number).
  var UNREACHABLE = "Sorry, the chat cannot reach the service just now. Please try again later. In an emergency, call your local emergency number.";

  function randomId(bytes) {
    var raw = new Uint8Array(bytes);
    crypto.getRandomValues(raw);
    var text = "";
    raw.forEach(function (b) { text += String.fromCharCode(b); });
    return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function token() {
    var kept = null;
    try { kept = sessionStorage.getItem(STORE); } catch (e) { /* storage blocked */ }
    if (!kept) {
      kept = randomId(32);
      try { sessionStorage.setItem(STORE, kept); } catch (e) { /* lives for this page */ }
    }
    return kept;
  }

  function element(tag, attributes, text) {
    var el = document.createElement(tag);
    Object.keys(attributes || {}).forEach(function (name) { el.setAttribute(name, attributes[name]); });
    if (text) el.textContent = text;
    return el;
  }

  function build() {
    var host = document.getElementById("runner-hip-check");
    if (!host) {
      host = element("div", { id: "runner-hip-check" });
      document.body.appendChild(host);
    }
    var root = host.attachShadow({ mode: "open" });
    root.appendChild(element("link", { rel: "stylesheet", href: service + "/web/widget.css" }));
    var panel = element("section", { class: "chat", "aria-label": "Hip check chat" });
    var log = element("div", { class: "log", role: "log", "aria-live": "polite", tabindex: "0",
                               "aria-label": "Conversation" });
    var choices = element("div", { class: "choices", role: "group", "aria-label": "Answers" });
    var form = element("form", { class: "send" });
    var label = element("label", { for: "message" }, "Message");
    var input = element("input", { id: "message", type: "text", autocomplete: "off",
                                   maxlength: String(MAX_TEXT), enterkeyhint: "send" });
    var button = element("button", { type: "submit" }, "Send");
    form.append(label, input, button);
    panel.append(log, choices, form);
    root.appendChild(panel);
    return { panel: panel, log: log, choices: choices, form: form, input: input, button: button };
  }

  var ui = build();
  var busy = false;

  function say(text, who) {
    if (!text) return;
    var line = element("p", { class: who });
    line.appendChild(element("span", { class: "who" }, who === "me" ? "You: " : "Hip check: "));
    text.split("\n").forEach(function (part, i) {
      if (i) line.appendChild(document.createElement("br"));
      line.appendChild(document.createTextNode(part));
    });
    ui.log.appendChild(line);
    ui.log.scrollTop = ui.log.scrollHeight;
  }

  // After a button, focus goes to the next question's first button (or the box when it has
  // none), so that someone on the keyboard alone goes on from where they were.
  function offer(options, focus) {
    ui.choices.replaceChildren();
    (options || []).forEach(function (option) {
      var b = element("button", { type: "button", class: "choice" }, option);
      b.addEventListener("click", function () { send(option, true); });
      ui.choices.appendChild(b);
    });
    ui.choices.hidden = !ui.choices.children.length;
    if (focus) (ui.choices.firstElementChild || ui.input).focus();
  }

  function post(path, body, tries) {
    return fetch(service + path, {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body), credentials: "omit", mode: "cors",
    }).then(function (response) {
      return response.json().catch(function () { return {}; });
    }, function (err) {
      if (tries > 1) {
        return new Promise(function (resolve) { setTimeout(resolve, 800); })
          .then(function () { return post(path, body, tries - 1); });
      }
      throw err;
    });
  }

  function turn(path, body, pressed) {
    busy = true;
    ui.button.disabled = true;
    body.token = token();
    body.id = randomId(12);
    return post(path, body, TRIES).then(function (reply) {
      say(reply.text || UNREACHABLE, "bot");
      offer(reply.options, pressed);
    }, function () {
      say(UNREACHABLE, "bot");
    }).then(function () {
      busy = false;
      ui.button.disabled = false;
    });
  }

  function send(text, pressed) {
    text = text.trim();
    if (!text || busy) return;
    say(text, "me");
    if (!pressed) ui.input.value = "";
    if (pressed) ui.input.focus(); // the pressed button is about to go
    offer([]);
    turn("/web/message", { text: text }, pressed);
  }

  ui.form.addEventListener("submit", function (event) {
    event.preventDefault();
    send(ui.input.value);
  });
  turn("/web/start", {});
})();
