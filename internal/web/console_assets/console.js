// Progressive enhancement of the idgate console: "Copy" buttons put the
// value of the element named by data-copy on the clipboard. Everything
// works without this script; the values can be selected and copied by hand.
document.addEventListener("click", function (ev) {
  var btn = ev.target.closest("button[data-copy]");
  if (!btn) return;
  ev.preventDefault();
  var el = document.getElementById(btn.getAttribute("data-copy"));
  if (!el || !navigator.clipboard) return;
  navigator.clipboard.writeText(el.textContent.trim()).then(function () {
    var label = btn.textContent;
    btn.textContent = "Copied";
    setTimeout(function () { btn.textContent = label; }, 1500);
  });
});
document.querySelectorAll("button[data-copy]").forEach(function (b) { b.hidden = false; });
