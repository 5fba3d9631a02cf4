// Glassbox dashboard: hover details on charts, drag on a chart to choose a time range, and
// auto-refresh. Pages work without this script; it only adds comfort.
"use strict";

(function () {
  const tip = document.getElementById("tip");

  function showTip(event) {
    const text = event.target.getAttribute("data-tip");
    if (!tip || !text) {
      return;
    }
    tip.textContent = text;
    tip.hidden = false;
    tip.style.left = Math.min(event.clientX + 14, window.innerWidth - 240) + "px";
    tip.style.top = event.clientY + 14 + "px";
  }

  function hideTip() {
    if (tip) {
      tip.hidden = true;
    }
  }

  // Converts a pointer position into a time on the chart's axis.
  function timeAt(svg, clientX) {
    const box = svg.getBoundingClientRect();
    const width = Number(svg.dataset.width);
    const left = Number(svg.dataset.left);
    const right = Number(svg.dataset.right);
    const from = Date.parse(svg.dataset.from);
    const to = Date.parse(svg.dataset.to);
    const x = ((clientX - box.left) / box.width) * width;
    const share = Math.min(1, Math.max(0, (x - left) / (right - left)));
    return from + share * (to - from);
  }

  function selectRange(svg) {
    let start = null;
    let band = null;

    svg.addEventListener("mousedown", function (event) {
      start = event.clientX;
      band = document.createElementNS("http://www.w3.org/2000/svg", "rect");
      band.setAttribute("class", "selection");
      band.setAttribute("y", "0");
      band.setAttribute("height", "160");
      svg.appendChild(band);
      event.preventDefault();
    });

    svg.addEventListener("mousemove", function (event) {
      if (start === null || !band) {
        return;
      }
      const box = svg.getBoundingClientRect();
      const scale = Number(svg.dataset.width) / box.width;
      const a = (Math.min(start, event.clientX) - box.left) * scale;
      const b = (Math.max(start, event.clientX) - box.left) * scale;
      band.setAttribute("x", String(a));
      band.setAttribute("width", String(b - a));
    });

    window.addEventListener("mouseup", function (event) {
      if (start === null) {
        return;
      }
      const begin = timeAt(svg, Math.min(start, event.clientX));
      const end = timeAt(svg, Math.max(start, event.clientX));
      start = null;
      if (band) {
        band.remove();
        band = null;
      }
      if (end - begin < 60000) {
        return;
      }
      const url = new URL(window.location.href);
      url.searchParams.delete("range");
      url.searchParams.delete("cursor");
      url.searchParams.set("from", new Date(begin).toISOString());
      url.searchParams.set("to", new Date(end).toISOString());
      window.location.assign(url.toString());
    });
  }

  document.querySelectorAll("[data-tip]").forEach(function (element) {
    element.addEventListener("mousemove", showTip);
    element.addEventListener("mouseleave", hideTip);
  });
  document.querySelectorAll("svg.timeseries").forEach(selectRange);

  const seconds = Number(document.body.dataset.refresh);
  if (seconds > 0) {
    window.setTimeout(function () {
      window.location.reload();
    }, seconds * 1000);
  }
})();
