// Starts GOV.UK and MOJ Frontend components. Loaded as a module, so it runs once the page is parsed.
import { initAll as initGovuk } from "./vendor/frontend/govuk-frontend.min.js";
import { initAll as initMoj } from "./vendor/frontend/moj-frontend.min.js";

document.body.classList.add("js-enabled", "govuk-frontend-supported");
initGovuk();
initMoj();

// Close the suggestions list with Escape, returning focus to the box.
document.addEventListener("keydown", (event) => {
  if (event.key !== "Escape") return;
  const box = document.getElementById("q-suggestions");
  if (box && box.contains(document.activeElement)) document.getElementById("q").focus();
  if (box) box.innerHTML = "";
});
