#!/usr/bin/env bash
# Fetch the JavaScript the built book needs and copy exactly the needed files into
# book/_assets/vendor/ (gitignored), which _config.yml serves through `html_extra_path`,
# so that the HTML pages load MathJax, require.js and the Jupyter widgets manager from
# the site itself instead of from CDNs.
#
#   book/_assets/vendor/_vendor/          -> _build/html/_vendor/
#     mathjax/tex-chtml.js                   MathJax 3 (TeX input, CommonHTML output)
#     mathjax/output/chtml/fonts/woff-v2/    its fonts
#     mathjax/input/tex/extensions/          TeX packages that \require / autoload fetch
#     mathjax/ui/, a11y/, sre/               loaded when a reader uses the math context menu
#     requirejs/require.js                   AMD loader used by the widgets manager
#     html-manager/embed-amd.js + fonts      @jupyter-widgets/html-manager (ipywidgets 8)
#     shims/widgets-mathjax3.js              lets ipywidgets typeset with MathJax 3 (below)
#   book/_assets/vendor/@jupyter-widgets/  -> _build/html/@jupyter-widgets/ (the widget fonts again)
#
# Versions are pinned exactly in book/package.json and book/package-lock.json; `npm ci`
# installs exactly the lock file (registry.npmjs.org, or whatever npm is configured to use).
# The folder is NOT book/_static: Jupyter Book injects every .js/.css of every static
# path into every page as soon as a book/_static folder exists.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

dest="_assets/vendor/_vendor"
stamp="_assets/vendor/.stamp"

# Skip the work when the copied assets are newer than the lock file and the script.
if [[ -f "$stamp" && "$stamp" -nt package-lock.json && "$stamp" -nt fetch_assets.sh ]]; then
    exit 0
fi

if [[ ! -d node_modules || package-lock.json -nt node_modules/.package-lock.json ]]; then
    npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
fi

rm -rf _assets/vendor
mkdir -p "$dest/mathjax/output/chtml/fonts" "$dest/mathjax/input/tex" "$dest/requirejs" "$dest/html-manager"

mj=node_modules/mathjax/es5
cp "$mj/tex-chtml.js" "$dest/mathjax/"
cp -r "$mj/output/chtml/fonts/woff-v2" "$dest/mathjax/output/chtml/fonts/"
cp -r "$mj/input/tex/extensions" "$dest/mathjax/input/tex/"
cp -r "$mj/ui" "$mj/a11y" "$mj/sre" "$dest/mathjax/"
cp node_modules/mathjax/LICENSE "$dest/mathjax/"

cp node_modules/requirejs/require.js "$dest/requirejs/"

hm=node_modules/@jupyter-widgets/html-manager
cp "$hm/dist/embed-amd.js" "$dest/html-manager/"
# Font Awesome webfonts that embed-amd.js loads relative to its own URL.
find "$hm/dist" -maxdepth 1 -type f \( -name '*.woff2' -o -name '*.woff' -o -name '*.ttf' \
    -o -name '*.eot' -o -name '*.svg' \) -exec cp {} "$dest/html-manager/" \;
cp "$hm/dist/embed.js.LICENSE.txt" "$dest/html-manager/"
# The widget styles ask for the same fonts relative to where require.js resolved their module,
# i.e. /@jupyter-widgets/html-manager/dist/ and /@jupyter-widgets/ under the site root (every
# page of this book sits at the root). Without these copies each widget page logs 404s.
for sub in "@jupyter-widgets/html-manager/dist" "@jupyter-widgets"; do
    mkdir -p "_assets/vendor/$sub"
    cp "$dest"/html-manager/*.{woff2,woff,ttf,eot,svg} "_assets/vendor/$sub/"
done

# ipywidgets 8 typesets widget labels through the MathJax 2 API (MathJax.Hub.Queue), which
# MathJax 3 lacks: on a page with both math and widgets that throws "Cannot read properties
# of undefined (reading 'Queue')". This shim, loaded before embed-amd.js, maps the call to
# MathJax 3's typesetPromise once MathJax has started.
mkdir -p "$dest/shims"
cat > "$dest/shims/widgets-mathjax3.js" <<'JS'
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
JS

touch "$stamp"
echo "fetch_assets.sh: copied $(find "$dest" -type f | wc -l) files ($(du -sh "$dest" | cut -f1)) into book/$dest"
