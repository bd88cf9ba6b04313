// A keyboard cursor on a picture: the arrow keys move it (Shift for larger moves), Enter or Space
// presses there. It sends the pointer and click events a mouse would send at that spot, so the
// loupe, the refocus tap and near/far picking work from the keyboard with no code of their own.
import { el } from "./core.js";
import { pictureRect } from "./imagetools.js";

const STEP = 0.02;
const LARGE_STEP = 0.1;
const MOVES = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };

export function keyboardCursor(img, action) {
  const marker = el("div", { class: "key-cursor", hidden: true });
  img.parentElement.append(marker);
  img.tabIndex = 0;
  img.setAttribute("aria-label", `${img.alt}: arrow keys move a cursor on the picture, Enter ${action}`);
  const at = { x: 0.5, y: 0.5 };

  // the cursor's spot in the viewport (for the events) and in the parent (for the marker)
  const place = () => {
    marker.hidden = false;
    return { ...putAt(marker, img, at.x, at.y), bubbles: true, cancelable: true, pointerType: "mouse", isPrimary: true };
  };

  // shown when the keyboard brought the focus here, not after a click (the mouse is the cursor then)
  img.addEventListener("focus", () => { if (img.matches(":focus-visible")) place(); });
  img.addEventListener("blur", () => { marker.hidden = true; });
  img.addEventListener("keydown", (event) => {
    const move = MOVES[event.key];
    if (move) {
      const step = event.shiftKey ? LARGE_STEP : STEP;
      at.x = Math.min(1, Math.max(0, at.x + move[0] * step));
      at.y = Math.min(1, Math.max(0, at.y + move[1] * step));
      img.dispatchEvent(new PointerEvent("pointermove", place()));
    } else if (event.key === "Enter" || event.key === " ") {
      const spot = place();
      for (const type of ["pointerdown", "pointerup"]) img.dispatchEvent(new PointerEvent(type, spot));
      img.dispatchEvent(new MouseEvent("click", spot));
    } else {
      return;
    }
    // the page's own arrow keys (Refocus: previous/next frame) are for when the picture has no focus
    event.preventDefault();
    event.stopPropagation();
  });
}

// Show `marker` (absolutely placed in the picture's parent) where `point` (from imagePoint) was tapped.
export function markTap(marker, img, point) {
  marker.dataset.x = String(point.x);
  marker.dataset.y = String(point.y);
  marker.hidden = false;
  placeTap(marker, img);
}

// Put a shown tap marker on the picture point it marks again: after the picture moved under it (a zoom, a
// pan, or the page's layout changing the picture's size), it would point at another place.
export function placeTap(marker, img) {
  if (!marker.hidden) putAt(marker, img, Number(marker.dataset.x), Number(marker.dataset.y));
}

// Place `marker` (absolutely placed in the picture's parent) at the picture's fractions (x, y); returns that spot
// in the viewport.
function putAt(marker, img, x, y) {
  const pic = pictureRect(img);
  const parent = img.parentElement.getBoundingClientRect();
  const clientX = pic.left + x * pic.width, clientY = pic.top + y * pic.height;
  marker.style.left = `${clientX - parent.left}px`;
  marker.style.top = `${clientY - parent.top}px`;
  return { clientX, clientY };
}

// Call `handler(event)` on a tap of `img`: a short press without much movement, by mouse, pen or
// touch. Its length comes from the events' own time stamps, when they happened, not when the page
// got round to them: on a busy tablet a quick tap still counts. `ignore()` true drops a tap (the end
// of a pinch or a drag).
export function onTap(img, handler, ignore = () => false) {
  let down = null;
  img.addEventListener("pointerdown", (e) => { down = { x: e.clientX, y: e.clientY, t: e.timeStamp }; });
  img.addEventListener("pointerup", (e) => {
    const still = down && Math.hypot(e.clientX - down.x, e.clientY - down.y) < 12 && e.timeStamp - down.t < 800;
    down = null;
    if (still && !ignore()) handler(e);
  });
}
