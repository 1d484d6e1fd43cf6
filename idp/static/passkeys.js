/*
 * Passkeys (WebAuthn) for three pages, each marked by an element with
 * data-options-url / data-verify-url and German messages in data-msg-*:
 *   #passkey-enrol      form: name field, "Passkey hinzufügen"
 *   #passkey-challenge  form: second factor after the password
 *   #passkey-login      login page: button and, where the browser offers it,
 *                       passkeys in the e-mail field's autofill (conditional UI)
 * The server answers {"redirect": url} or {"error": message[, "redirect": url]}.
 */
(function () {
  "use strict";

  function toBytes(text) {
    var base64 = text.replace(/-/g, "+").replace(/_/g, "/");
    var binary = atob(base64 + "===".slice((base64.length + 3) % 4));
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes.buffer;
  }

  function toText(buffer) {
    var bytes = new Uint8Array(buffer);
    var binary = "";
    for (var i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i]);
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function descriptors(list) {
    return (list || []).map(function (item) {
      return Object.assign({}, item, { id: toBytes(item.id) });
    });
  }

  function creationOptions(json) {
    return Object.assign({}, json, {
      challenge: toBytes(json.challenge),
      user: Object.assign({}, json.user, { id: toBytes(json.user.id) }),
      excludeCredentials: descriptors(json.excludeCredentials),
    });
  }

  function requestOptions(json) {
    return Object.assign({}, json, {
      challenge: toBytes(json.challenge),
      allowCredentials: descriptors(json.allowCredentials),
    });
  }

  function credentialJSON(credential) {
    var response = credential.response;
    var json = {
      id: credential.id,
      rawId: toText(credential.rawId),
      type: credential.type,
      authenticatorAttachment: credential.authenticatorAttachment || null,
      clientExtensionResults: credential.getClientExtensionResults(),
      response: { clientDataJSON: toText(response.clientDataJSON) },
    };
    if (response.attestationObject) {
      json.response.attestationObject = toText(response.attestationObject);
      json.response.transports = response.getTransports ? response.getTransports() : [];
    } else {
      json.response.authenticatorData = toText(response.authenticatorData);
      json.response.signature = toText(response.signature);
      json.response.userHandle = response.userHandle ? toText(response.userHandle) : null;
    }
    return json;
  }

  function csrfToken() {
    var input = document.querySelector('input[name="csrf_token"]');
    return input ? input.value : "";
  }

  /* POST a plain object as JSON, or a FormData as a form; resolves to the JSON answer. */
  function post(url, body) {
    var headers = { "X-CSRFToken": csrfToken(), Accept: "application/json" };
    if (!(body instanceof FormData)) {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(body);
    }
    return fetch(url, { method: "POST", headers: headers, body: body, credentials: "same-origin" })
      .then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (data) {
          if (!response.ok) {
            var error = new Error(data.error || "");
            error.data = data;
            throw error;
          }
          return data;
        });
      });
  }

  function ui(element) {
    var box = document.getElementById("passkey-error");
    return {
      busy: function (on) {
        element.querySelectorAll("button").forEach(function (b) { b.disabled = on; });
        if (element.tagName === "BUTTON") element.disabled = on;
      },
      show: function (message) {
        if (!box) return;
        box.textContent = message;
        box.hidden = !message;
        if (message) box.focus();
      },
      fail: function (error) {
        var data = (error && error.data) || {};
        if (data.redirect) {
          window.location.assign(data.redirect);
          return;
        }
        var name = error && error.name;
        var message = data.error ||
          (name === "NotAllowedError" || name === "AbortError" ? element.dataset.msgCancelled :
           name === "InvalidStateError" ? element.dataset.msgExists : element.dataset.msgFailed);
        this.show(message);
      },
    };
  }

  function supported() {
    return !!(window.PublicKeyCredential && navigator.credentials);
  }

  function follow(answer) {
    window.location.assign(answer.redirect);
  }

  /* Adding a passkey (settings or forced enrolment). */
  function enrol(form) {
    var view = ui(form);
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (!supported()) return view.show(form.dataset.msgUnsupported);
      var name = form.querySelector("#name").value;
      view.show("");
      view.busy(true);
      post(form.dataset.optionsUrl, { name: name })
        .then(function (options) {
          return navigator.credentials.create({ publicKey: creationOptions(options) });
        })
        .then(function (credential) {
          return post(form.dataset.verifyUrl, { name: name, credential: credentialJSON(credential) });
        })
        .then(follow)
        .catch(function (error) { view.fail(error); view.busy(false); });
    });
  }

  /* The second factor after the password: the form travels along (remember_device). */
  function challenge(form) {
    var view = ui(form);
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (!supported()) return view.show(form.dataset.msgUnsupported);
      view.show("");
      view.busy(true);
      post(form.dataset.optionsUrl, { mode: "second_factor" })
        .then(function (options) {
          return navigator.credentials.get({ publicKey: requestOptions(options) });
        })
        .then(function (credential) {
          var data = new FormData(form);
          data.set("mode", "second_factor");
          data.set("credential", JSON.stringify(credentialJSON(credential)));
          return post(form.dataset.verifyUrl, data);
        })
        .then(follow)
        .catch(function (error) { view.fail(error); view.busy(false); });
    });
  }

  /* Passwordless from the login page: the button, and autofill where available. */
  function login(area) {
    if (!supported()) return;
    var button = area.querySelector("#passkey-login");
    var view = ui(button);
    var ridInput = document.querySelector('input[name="rid"]');
    var rid = ridInput ? ridInput.value : "";
    var conditional = null; // {controller, ready} while autofill waits

    function fetchOptions() {
      return post(area.dataset.optionsUrl, { mode: "sign_in" });
    }

    function signIn(options, mediation, signal) {
      var request = { publicKey: requestOptions(options) };
      if (mediation) request.mediation = mediation;
      if (signal) request.signal = signal;
      return navigator.credentials.get(request).then(function (credential) {
        return post(area.dataset.verifyUrl, {
          mode: "sign_in", rid: rid, credential: credentialJSON(credential),
        });
      }).then(follow);
    }

    area.hidden = false;
    button.addEventListener("click", function () {
      view.show("");
      view.busy(true);
      // One sign-in challenge lives in the session at a time: stop the
      // autofill request, and let its options call finish before asking anew.
      var waiting = Promise.resolve();
      if (conditional) {
        conditional.controller.abort();
        waiting = conditional.ready;
        conditional = null;
      }
      waiting.then(fetchOptions)
        .then(function (options) { return signIn(options, null, null); })
        .catch(function (error) { view.fail(error); view.busy(false); });
    });

    var available = PublicKeyCredential.isConditionalMediationAvailable;
    if (!available) return;
    available.call(PublicKeyCredential).then(function (yes) {
      if (!yes || conditional || button.disabled) return;
      var controller = new AbortController();
      var fetched = fetchOptions();
      var nothing = function () {};
      conditional = { controller: controller, ready: fetched.then(nothing, nothing) };
      fetched.then(function (options) {
        if (!controller.signal.aborted) return signIn(options, "conditional", controller.signal);
      }).catch(function (error) {
        // Unasked-for: only the server's refusal of a chosen passkey is shown,
        // not a browser that cannot offer passkeys here.
        if (!controller.signal.aborted && error && error.data) view.fail(error);
      });
    }).catch(function () { /* no autofill: the button remains */ });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("passkey-enrol");
    if (form) enrol(form);
    form = document.getElementById("passkey-challenge");
    if (form) challenge(form);
    var area = document.getElementById("passkey-login-area");
    if (area) login(area);
  });
})();
