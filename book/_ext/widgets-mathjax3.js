// ipywidgets 8 typesets widget labels through the MathJax 2 API (MathJax.Hub.Queue), which
// MathJax 3 lacks: on a page with both math and widgets that throws "Cannot read properties
// of undefined (reading 'Queue')". This shim, loaded before embed-amd.js (nb_ipywidgets_js in
// _config.yml), maps the call to MathJax 3's typesetPromise once MathJax has started.
// book/_ext/offline_assets.py copies it to _vendor/shims/ in the built site.
(function () {
  var cfg = window.MathJax;
  if (!cfg || cfg.version) { return; }          // no math on this page, or MathJax 3 already up
  var pending = [];
  cfg.Hub = { Queue: function (job) { if (job && job[2]) { pending.push(job[2]); } } };
  cfg.startup = cfg.startup || {};
  var ready = cfg.startup.ready;
  cfg.startup.ready = function () {
    if (ready) { ready(); } else { window.MathJax.startup.defaultReady(); }
    var mj = window.MathJax;
    mj.Hub = { Queue: function (job) {
      var el = job && job[2];
      return mj.startup.promise.then(function () { return mj.typesetPromise(el ? [el] : undefined); });
    } };
    if (pending.length) { mj.startup.promise.then(function () { return mj.typesetPromise(pending); }); }
  };
})();
