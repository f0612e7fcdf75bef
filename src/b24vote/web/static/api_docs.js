// The docs page: Swagger UI on /docs/openapi.json, a credential entered once for every call, search in the
// filter box, and each method's entry sent by GET or POST as the reader picks (web/api_docs.py describes it).
(function () {
  "use strict";

  var KEY = "b24vote.docs.credential";
  var VERB_HEADER = "B24vote-Verb";
  // An incoming webhook: http(s)://host/rest/<user>/<code>/ or just its path.
  var WEBHOOK = /^(?:https?:\/\/[^/]+)?(\/rest\/\d+\/[A-Za-z0-9]+\/?)/;
  var REST_ENTRY = /^\/rest\/([^/]+)$/;
  var MAX_DEPTH = 8; // PHP reads nested brackets; nothing this API takes goes deeper

  // Kept for the tab only: a token should not outlive the reader's session in this browser.
  function credential() {
    return (window.sessionStorage.getItem(KEY) || "").trim();
  }

  function webhookPath(value) {
    var match = value.match(WEBHOOK);
    if (!match) return null;
    return match[1].endsWith("/") ? match[1] : match[1] + "/";
  }

  // A JSON value as PHP bracket pairs: {"ballot": {"1": [2]}} → ballot[1][0]=2.
  function phpPairs(value, prefix, out, depth) {
    if (depth > MAX_DEPTH) return;
    if (value !== null && typeof value === "object") {
      Object.keys(value).forEach(function (key) {
        phpPairs(value[key], prefix ? prefix + "[" + key + "]" : key, out, depth + 1);
      });
    } else if (prefix) {
      out.push([prefix, value === null ? "" : value === true ? "1" : value === false ? "" : String(value)]);
    }
  }

  function moveBodyToQuery(req, url) {
    var body = req.body;
    if (typeof body === "string" && body.trim().charAt(0) === "{") {
      var pairs = [];
      phpPairs(JSON.parse(body), "", pairs, 0);
      pairs.forEach(function (pair) { url.searchParams.append(pair[0], pair[1]); });
    } else if (typeof body === "string" && body) {
      new URLSearchParams(body).forEach(function (v, k) { url.searchParams.append(k, v); });
    }
    delete req.body;
    Object.keys(req.headers).forEach(function (name) {
      if (name.toLowerCase() === "content-type") delete req.headers[name];
    });
    req.method = "GET";
  }

  // Swagger UI's request, about to be sent: the entry /rest/<method> becomes the real call.
  function toRealCall(req) {
    var url = new URL(req.url, window.location.href);
    var entry = url.pathname.match(REST_ENTRY);
    var verb = "POST";
    Object.keys(req.headers).forEach(function (name) {
      if (name.toLowerCase() === VERB_HEADER.toLowerCase()) {
        verb = String(req.headers[name]).toUpperCase();
        delete req.headers[name];
      }
    });
    if (!entry) return req;
    var value = credential();
    var hook = webhookPath(value);
    if (hook) url.pathname = hook + entry[1];
    else if (value) url.searchParams.set("auth", value);
    if (verb === "GET") moveBodyToQuery(req, url);
    req.url = url.toString();
    return req;
  }

  // Swagger UI's own filter matches tag names only; this one also finds a method by its path or summary.
  function SearchPlugin() {
    return {
      fn: {
        opsFilter: function (taggedOps, phrase) {
          var needle = String(phrase).toLowerCase();
          return taggedOps
            .map(function (tagObj, tag) {
              return tagObj.set("operations", tagObj.get("operations").filter(function (op) {
                var text = [tag, op.get("path"), op.getIn(["operation", "summary"]) || ""].join(" ");
                return text.toLowerCase().indexOf(needle) !== -1;
              }));
            })
            .filter(function (tagObj) { return tagObj.get("operations").size > 0; });
        },
      },
    };
  }

  function showState() {
    var state = document.getElementById("b24-credential-state");
    var value = credential();
    var hook = webhookPath(value);
    if (hook) {
      state.textContent = "Calls go through the webhook " + hook.replace(/\/([A-Za-z0-9]{4})[A-Za-z0-9]+\/$/, "/$1…/");
    } else if (value) {
      state.textContent = "Calls carry the OAuth access token in auth.";
    } else {
      state.textContent = "Calls are sent without credentials.";
    }
    state.classList.toggle("b24-set", Boolean(value));
  }

  function setUpCredential() {
    var form = document.getElementById("b24-credential");
    var input = document.getElementById("b24-credential-input");
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      window.sessionStorage.setItem(KEY, input.value.trim());
      input.value = "";
      showState();
    });
    document.getElementById("b24-credential-forget").addEventListener("click", function () {
      window.sessionStorage.removeItem(KEY);
      showState();
    });
    showState();
  }

  window.addEventListener("DOMContentLoaded", function () {
    setUpCredential();
    window.ui = window.SwaggerUIBundle({
      url: "/docs/openapi.json",
      dom_id: "#swagger-ui",
      deepLinking: true,
      filter: true,
      tryItOutEnabled: true,
      displayRequestDuration: true,
      docExpansion: "list",
      defaultModelsExpandDepth: 0,
      validatorUrl: null, // no badge fetched from elsewhere
      queryConfigEnabled: false,
      requestInterceptor: toRealCall,
      presets: [window.SwaggerUIBundle.presets.apis],
      plugins: [SearchPlugin],
    });
  });
})();
