/* The preview pane: the announcement as the citizen receives it, with character
 * counts and the problems validate would report. Nothing is rendered here: the
 * form's values go to POST /api/preview (runner/cms/preview.py), which answers with
 * the bubble of runner/announcements/bubble.py (the same one `preview` prints) as
 * HTML and its CSS. On a static host without that endpoint the pane says where the
 * check happens instead. */
(function () {
  "use strict";
  var ENDPOINT = "/api/preview";
  var MEDIA_MAX_BYTES = 20 * 1024 * 1024; // runner/cms/preview.py: MEDIA_MAX_BYTES
  var h = window.h;

  function mediaPayload(path, getAsset) {
    // An attachment chosen in this session is only in the browser until the save.
    if (!path || /^[a-z][a-z0-9+.-]*:/i.test(path)) return Promise.resolve({});
    var asset = getAsset(path);
    if (!asset || !asset.url || (asset.fileObj && asset.fileObj.size > MEDIA_MAX_BYTES)) {
      return Promise.resolve({});
    }
    return asset.toBase64().then(function (data) {
      var media = {};
      if (data) media[path] = data;
      return media;
    }, function () { return {}; });
  }

  var WhatsAppPreview = window.createClass({
    getInitialState: function () { return { answer: null, failed: false }; },
    componentDidMount: function () { this.asked = 0; this.schedule(); },
    componentDidUpdate: function (previous) {
      if (previous.entry !== this.props.entry) this.schedule();
    },
    componentWillUnmount: function () { clearTimeout(this.timer); this.gone = true; },
    schedule: function () {
      clearTimeout(this.timer);
      this.timer = setTimeout(this.refresh, 300);
    },
    refresh: function () {
      var self = this;
      var entry = this.props.entry;
      var fields = entry.get("data").toJS();
      var body = fields.body || "";
      delete fields.body;
      var asked = ++this.asked;
      mediaPayload(fields.media, this.props.getAsset).then(function (media) {
        return fetch(ENDPOINT, {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({
            fields: fields, body: body, media: media,
            path: entry.get("newRecord") ? null : entry.get("path")
          })
        });
      }).then(function (response) {
        if (!response.ok) throw new Error(response.status);
        return response.json();
      }).then(function (answer) {
        if (!self.gone && asked === self.asked) self.setState({ answer: answer, failed: false });
      }, function () {
        if (!self.gone) self.setState({ failed: true });
      });
    },
    render: function () {
      var answer = this.state.answer;
      if (this.state.failed) {
        return h("div", { className: "pane" },
          h("p", { className: "pane-note" },
            "Anteprima non disponibile qui: la controlla la verifica automatica della " +
            "richiesta di revisione (python -m runner preview)."));
      }
      if (!answer) return h("div", { className: "pane" }, "…");
      return h("div", { className: "pane", "data-testid": "wa-preview" },
        h("style", null, answer.css),
        h("h2", null, answer.title),
        answer.when ? h("p", { className: "pane-when" }, answer.when) : null,
        // The bubble's HTML is Python's, escaped there (bubble.whatsapp_html).
        answer.html ? h("div", { dangerouslySetInnerHTML: { __html: answer.html } })
                    : h("pre", null, answer.text),
        answer.ok
          ? h("p", { className: "pane-ok" }, answer.ready)
          : h("div", { className: "pane-problems" },
              h("p", null, answer.problems_title),
              h("ul", null, answer.problems.map(function (text, i) {
                return h("li", { key: i }, text);
              }))));
    }
  });

  window.CMS.registerPreviewStyle("preview.css");
  window.CMS.registerPreviewTemplate("announcements", WhatsAppPreview);
})();
