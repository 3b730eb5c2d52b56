// User form: show the institution only for staff and the committee assignments only for
// committee members. Without JavaScript every field stays visible, with a hint saying which
// role it is for, and the server ignores the ones that do not apply.
document.addEventListener("DOMContentLoaded", function () {
  var role = document.querySelector("select[data-role-select]");
  if (!role) { return; }
  function update() {
    document.querySelectorAll("[data-for-role]").forEach(function (block) {
      block.hidden = block.getAttribute("data-for-role") !== role.value;
    });
  }
  role.addEventListener("change", update);
  update();
});
