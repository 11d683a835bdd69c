/* What Decap CMS's own markup gets wrong for a screen reader or a keyboard, mended in
 * the page as Decap renders it (axe-core finds these; tests/cms/test_form_access.py
 * checks the form has no serious or critical violation left). Names come from what the
 * page shows, so they follow the form's language. Colours: admin/a11y.css. */
(function () {
  "use strict";

  function labelOf(el) {
    var label = el && el.id && document.querySelector("label[for='" + el.id + "']");
    return label ? label.textContent.trim() : "";
  }

  // Only real changes: writing a value again would wake the observer below again.
  function set(el, name, value) {
    if (el.getAttribute(name) !== value) el.setAttribute(name, value);
  }

  function mend(root) {
    // The Markdown/rich-text switch has no name and says "not checked" by leaving the
    // attribute out: its name is the label beside it, its state always said.
    root.querySelectorAll("[role=switch]").forEach(function (sw) {
      if (!sw.hasAttribute("aria-checked")) set(sw, "aria-checked", "false");
      var next = sw.nextElementSibling;
      if (!sw.id && next) set(sw, "aria-label", next.textContent.trim());
    });
    // The body's editor (Slate) is a textbox with no name: it is the field's label.
    root.querySelectorAll("[data-slate-editor='true']:not([aria-label])").forEach(function (box) {
      var field = box.closest("[class*='ControlContainer'], [class*='EditorControl']");
      var label = field && field.querySelector("label");
      if (label) set(box, "aria-label", label.textContent.trim());
    });
    // The preview pane's frame has no title.
    root.querySelectorAll("iframe#preview-pane:not([title])").forEach(function (frame) {
      set(frame, "title", document.documentElement.lang === "en"
        ? "Preview of the message" : "Anteprima del messaggio");
    });
    // "Now" buttons are named in English, whatever they show: their own words first.
    root.querySelectorAll("[data-testid=now-button]").forEach(function (button) {
      var text = button.textContent.trim();
      var field = labelOf(button.parentElement.querySelector("input"));
      var wanted = field ? text + " (" + field + ")" : text;
      set(button, "aria-label", wanted);
    });
    // A toolbar menu (headings) is a real button inside a span playing a button: the
    // span stops playing (its click and key handlers still get the inner button's
    // events, which bubble), and the inner button says it opens a menu.
    root.querySelectorAll("span[role=button], span[aria-expanded]").forEach(function (outer) {
      var inner = outer.querySelector("button");
      if (!inner) return;
      set(inner, "aria-haspopup", "true");
      set(inner, "aria-expanded", outer.getAttribute("aria-expanded") ||
                                  inner.getAttribute("aria-expanded") || "false");
      ["role", "tabindex", "aria-haspopup", "aria-expanded"].forEach(function (name) {
        if (outer.hasAttribute(name)) outer.removeAttribute(name);
      });
    });
  }

  new MutationObserver(function () { mend(document); })
    .observe(document.documentElement, { childList: true, subtree: true, attributes: true,
                                         attributeFilter: ["aria-checked", "aria-expanded",
                                                           "role", "class"] });
  document.addEventListener("DOMContentLoaded", function () { mend(document); });
})();
